"""The networks one-shot training builds and runs: freshly initialised G and D, the generator's forward
pass as one module (so DDP wraps a single call) and a context that freezes a network's parameters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from faceforge.nets.aeinet import AEINet, init_aeinet
from faceforge.nets.patchgan import MultiscaleDiscriminator
from faceforge.training.oneshot.config import OneshotConfig


class GeneratorPass(nn.Module):
    """Everything the generator's losses need from G in one forward pass (DDP wraps this): ``Y``, the
    target's attribute maps and, when the attribute loss is on, Y's."""

    def __init__(self, generator: AEINet, attributes: bool) -> None:
        super().__init__()
        self.generator, self.attributes = generator, attributes

    def forward(self, target: Tensor, z_id: Tensor) -> tuple[Tensor, tuple[Tensor, ...], tuple[Tensor, ...]]:
        output, attrs = self.generator(target, z_id)
        return output, attrs, self.generator.get_attr(output) if self.attributes else ()


@contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` with its parameters out of autograd for the block (gradients still reach its input)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for parameter, flag in zip(module.parameters(), flags, strict=True):
            parameter.requires_grad_(flag)


def build_networks(config: OneshotConfig) -> tuple[AEINet, MultiscaleDiscriminator]:
    """Freshly initialised G (GHOST's initialisation) and D; depends on ``config.seed`` only."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = AEINet(config.generator)
        init_aeinet(generator)
        d = config.discriminator
        discriminator = MultiscaleDiscriminator(3, d.ndf, d.n_layers, d.num_d)
    return generator, discriminator
