"""Load StyleGAN2 generator and e4e encoder checkpoints strictly, without executing pickled code.

Accepted files:

- the port's ``convert_weight.py`` output (``{'g_ema', 'latent_avg'[, 'g', 'd']}``, e.g.
  ``stylegan2-ffhq-config-f.pt``) and its ``train.py`` output (``{'g', 'd', 'g_ema', 'g_optim', 'd_optim'
  [, 'args', 'ada_aug_p']}``, e.g. the 256 px ``550000.pt``), where ``args`` is a pickled
  ``argparse.Namespace``;
- e4e's ``e4e_ffhq_encode.pt`` (``{'state_dict': encoder.* + decoder.*, 'opts': dict, 'latent_avg'}``);
- flat ``.safetensors`` (``g_ema.*``/``encoder.*``/``decoder.*`` keys, optional ``latent_avg``), and a bare
  generator state dict (``style.1.weight``, ...) in either format.

PyTorch pickles are read with ``torch.load(weights_only=True)`` and an allow-list of exactly
:data:`ALLOWED_GLOBALS`: anything else pickled in the file is refused in one sentence.

The layout is read from the tensors' shapes (so the small generators the tests build load the same way)
and then checked key by key against the module built from it: the only keys allowed to be missing are
the buffers some public copies lack, the FIR kernels (constants) and the fixed noise maps; they are
rebuilt and named in :attr:`LoadedGenerator.regenerated`. Anything else missing, extra or misshapen is a
:class:`~faceforge.errors.WeightsError` naming the first such key.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from faceforge.errors import WeightsError
from faceforge.nets.e4e import E4EConfig, E4EEncoder
from faceforge.nets.layout import layout_difference, state_shapes
from faceforge.nets.stylegan2 import GeneratorConfig, StyleGAN2Generator, is_regenerable
from faceforge.weights.loading import (
    SAFETENSORS_SUFFIX,
    check_weight_values,
    load_checkpoint,
    load_state_dict,
)

ALLOWED_GLOBALS = (argparse.Namespace,)
MEAN_LATENT_SAMPLES = 4096


def read_checkpoint(path: Path) -> dict[str, object]:
    """The top-level mapping of a ``.pt``/``.pth``/``.safetensors`` checkpoint (CPU tensors), through the
    weights registry's safe loaders with :data:`ALLOWED_GLOBALS` as the only pickled classes allowed."""
    path = Path(path)
    if path.suffix.lower() == SAFETENSORS_SUFFIX:
        return dict(load_state_dict(path))
    loaded = load_checkpoint(path, allow=ALLOWED_GLOBALS, what="checkpoint")
    if not isinstance(loaded, dict):
        raise WeightsError(f"The checkpoint {path} holds a {type(loaded).__name__}, not a mapping.")
    return loaded


def _prefixed(state: Mapping[str, object], prefix: str) -> dict[str, Tensor]:
    return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}  # type: ignore[misc]


def _shape(state: Mapping[str, Tensor], key: str, what: str) -> tuple[int, ...]:
    value = state.get(key)
    if not torch.is_tensor(value):
        raise WeightsError(f"The {what} weights lack '{key}', so their layout cannot be read.")
    return tuple(value.shape)


def generator_config_from_state(state: Mapping[str, Tensor]) -> GeneratorConfig:
    """The generator shape a ``g_ema`` state dict was made for, read from its tensor shapes."""
    style_dim = _shape(state, "style.1.weight", "generator")[1]
    n_mlp = sum(1 for key in state if re.fullmatch(r"style\.\d+\.weight", key))
    widths = [_shape(state, "input.input", "generator")[1]]
    index = 0
    while f"to_rgbs.{index}.conv.weight" in state:
        widths.append(_shape(state, f"to_rgbs.{index}.conv.weight", "generator")[2])
        index += 1
    size = 4 * 2 ** (len(widths) - 1)
    if size < 8:
        raise WeightsError("The generator weights hold no 'to_rgbs.0.conv.weight', so their size is unknown.")
    return GeneratorConfig(size=size, style_dim=style_dim, n_mlp=n_mlp, channels=tuple(widths))


def load_strict(
    module: torch.nn.Module, state: Mapping[str, Tensor], what: str, path: Path
) -> tuple[str, ...]:
    """Load ``state`` (read from ``path``) into ``module`` with ``strict=True`` after rebuilding the missing
    regenerable buffers (taken from the freshly built module); returns the names of those rebuilt. NaN,
    infinite or integer weights are refused (:func:`~faceforge.weights.loading.check_weight_values`)."""
    check_weight_values(state, path)
    own = module.state_dict()
    regenerated = tuple(key for key in own if key not in state and is_regenerable(key))
    filled = dict(state)
    filled.update({key: own[key] for key in regenerated})
    problem = layout_difference(filled, state_shapes(module))
    if problem is not None:
        raise WeightsError(f"The {what} weights do not match its layout: {problem}.")
    module.load_state_dict(filled, strict=True)
    return regenerated


@dataclass(frozen=True)
class LoadedGenerator:
    generator: StyleGAN2Generator
    latent_avg: Tensor  # [1, style_dim]
    regenerated: tuple[str, ...]  # buffers the file lacked, rebuilt
    latent_avg_computed: bool  # the file had none: the mean of MEAN_LATENT_SAMPLES mapped z

    def notes(self) -> list[str]:
        """One sentence per thing the loader had to make up, for the user."""
        notes = []
        noises = sum(1 for key in self.regenerated if key.startswith("noises."))
        kernels = len(self.regenerated) - noises
        if noises:
            notes.append(f"The generator weights lack {noises} fixed noise maps; fresh ones were drawn.")
        if kernels:
            notes.append(f"The generator weights lack {kernels} FIR kernels; they were rebuilt (constants).")
        if self.latent_avg_computed:
            notes.append(
                f"The checkpoint has no average latent; it was computed from {MEAN_LATENT_SAMPLES} samples."
            )
        return notes


def _build_generator(
    state: Mapping[str, Tensor], latent_avg: object, seed: int, path: Path
) -> LoadedGenerator:
    generator = StyleGAN2Generator(generator_config_from_state(state))
    regenerated = load_strict(generator, state, "generator", path)
    generator.eval().requires_grad_(False)
    if torch.is_tensor(latent_avg):
        avg = latent_avg.float()
        avg = (
            avg.reshape(-1, generator.config.style_dim)[:1]
            if avg.ndim == 1
            else avg.mean(dim=0, keepdim=True)
        )
        return LoadedGenerator(generator, avg.reshape(1, -1), regenerated, False)
    mean = generator.mean_latent(MEAN_LATENT_SAMPLES, torch.Generator().manual_seed(seed))
    return LoadedGenerator(generator, mean, regenerated, True)


def load_generator(path: Path, seed: int = 0) -> LoadedGenerator:
    """The generator of a StyleGAN2 or e4e checkpoint, in eval mode on the CPU."""
    checkpoint = read_checkpoint(path)
    latent_avg = checkpoint.get("latent_avg")
    nested = checkpoint.get("g_ema")
    if isinstance(nested, Mapping):
        return _build_generator(nested, latent_avg, seed, path)
    whole = checkpoint.get("state_dict")
    source = whole if isinstance(whole, Mapping) else checkpoint
    for prefix in ("g_ema.", "decoder."):
        part = _prefixed(source, prefix)
        if part:
            return _build_generator(part, latent_avg, seed, path)
    if "style.1.weight" in source:  # a bare g_ema state dict
        plain = _prefixed(source, "")
        plain.pop("latent_avg", None)
        return _build_generator(plain, latent_avg, seed, path)
    raise WeightsError(f"{path} holds no StyleGAN2 generator ('g_ema' or e4e 'decoder.' weights).")


def e4e_config_from_state(state: Mapping[str, Tensor]) -> E4EConfig:
    """The encoder shape an e4e ``encoder.*`` state dict (prefix removed) was made for."""
    units: list[int] = []
    widths: list[int] = []
    index = 0
    while f"body.{index}.res_layer.1.weight" in state:
        width = _shape(state, f"body.{index}.res_layer.1.weight", "e4e encoder")[0]
        if not widths or width != widths[-1] or f"body.{index}.shortcut_layer.0.weight" in state:
            units.append(0)
            widths.append(width)
        units[-1] += 1
        index += 1
    if len(units) != 4:
        raise WeightsError(f"The e4e encoder weights have {len(units)} body stages where 4 are expected.")
    style_dim = _shape(state, "styles.0.linear.weight", "e4e encoder")[0]
    convs = []
    row = 0
    while f"styles.{row}.linear.weight" in state:
        convs.append(sum(1 for key in state if re.fullmatch(rf"styles\.{row}\.convs\.\d+\.weight", key)))
        row += 1
    changes = [i for i in range(1, len(convs)) if convs[i] != convs[i - 1]]
    if len(changes) != 2:
        raise WeightsError("The e4e encoder's style blocks do not form the three pyramid levels it needs.")
    return E4EConfig(
        input_size=16 * 2 ** convs[0],
        n_styles=len(convs),
        style_dim=style_dim,
        units=tuple(units),
        widths=tuple(widths),
        coarse_rows=changes[0],
        middle_rows=changes[1],
    )


@dataclass(frozen=True)
class LoadedEncoder:
    encoder: E4EEncoder
    latent_avg: Tensor  # [n_styles, style_dim] or [1, style_dim], added to the codes


def load_e4e(path: Path, generator: LoadedGenerator | None = None) -> LoadedEncoder:
    """The e4e encoder of a checkpoint (``state_dict`` with ``encoder.*`` keys), in eval mode on the CPU.

    Its ``latent_avg`` is the file's, else ``generator``'s (the loader of psp.py does the same)."""
    checkpoint = read_checkpoint(path)
    whole = checkpoint.get("state_dict")
    source = whole if isinstance(whole, Mapping) else checkpoint
    state = _prefixed(source, "encoder.")
    if not state:
        raise WeightsError(f"{path} holds no e4e encoder ('encoder.' weights).")
    config = e4e_config_from_state(state)
    if generator is not None and config.n_styles != generator.generator.n_latent:
        raise WeightsError(
            f"The e4e encoder {path} gives {config.n_styles} W+ rows, but the generator takes "
            f"{generator.generator.n_latent}: they were not made for each other."
        )
    encoder = E4EEncoder(config)
    load_strict(encoder, state, "e4e encoder", path)
    encoder.eval().requires_grad_(False)
    latent_avg = checkpoint.get("latent_avg")
    if not torch.is_tensor(latent_avg):
        if generator is None:
            raise WeightsError(f"{path} holds no 'latent_avg' and no generator was given to take it from.")
        latent_avg = generator.latent_avg
    return LoadedEncoder(encoder, latent_avg.float())
