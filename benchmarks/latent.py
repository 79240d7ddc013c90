"""Latent-editing speed: one optimisation step (synthesis, losses, backward, Adam) of inversion and of the
identity-loss swap, for a small generator and the public 256 px and 1024 px layouts (random weights: the
speed of a layout does not depend on its values), plus e4e encoding at its 256 px input.

Prints one JSON line per figure: ``layout``, ``what`` (``synthesis``: one image, no gradient;
``invert_step``: one step of synthesis, pixel + MS-SSIM + dlib-feature losses, the noise penalty, backward
and Adam; ``swap_step``: the same plus the identity distance; ``e4e_encode``), ``batch``, ``ms``, ``device``
and the torch thread count. ``ms`` is the median of ``--repeat`` timed calls after one warm-up; a step is
timed as the difference between ``optimise_latent`` runs of 1 + ``--steps`` steps and of 1 step, divided by
``--steps``, so the fixed cost of a run (the target's features, the final evaluation) is left out.

Usage: ``python benchmarks/latent.py [--layouts small,256,1024] [--repeat 3] [--steps 2] [--batch 1]
[--device cpu]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from faceforge.latent.losses import DlibFaceLoss, default_chip_matrix
from faceforge.latent.optimise import Objective, optimise_latent
from faceforge.latent.options import INVERT_DEFAULTS, SWAP_DEFAULTS
from faceforge.nets.e4e import FFHQ_E4E, E4EEncoder
from faceforge.nets.stylegan2 import FFHQ_256, FFHQ_1024, GeneratorConfig, StyleGAN2Generator

LAYOUTS = {
    "small": GeneratorConfig(size=64, style_dim=64, n_mlp=2, channels=(64, 64, 32, 32, 16)),
    "256": FFHQ_256,
    "1024": FFHQ_1024,
}


def emit(**record: object) -> None:
    print(json.dumps({"benchmark": "latent", "threads": torch.get_num_threads(), **record}), flush=True)


def median_ms(call: Callable[[], object], repeat: int, device: torch.device) -> float:
    call()
    times = []
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def bench_layout(
    name: str, face_loss: DlibFaceLoss, batch: int, repeat: int, steps: int, device: torch.device
) -> None:
    config = LAYOUTS[name]
    torch.manual_seed(0)
    generator = StyleGAN2Generator(config).eval().requires_grad_(False).to(device)
    wplus = generator.mean_latent(256)[:, None].expand(batch, config.n_latent, -1).contiguous()
    with torch.no_grad():
        targets = generator.synthesis(wplus + 0.1 * torch.randn_like(wplus))
    chips = default_chip_matrix(config.size).to(device)
    source = face_loss(targets.flip(-1), chips).embedding.detach()
    record = {"layout": name, "size": config.size, "batch": batch, "device": str(device)}

    def synthesis() -> None:
        with torch.no_grad():
            generator.synthesis(wplus[:1])

    emit(**record, what="synthesis", ms=round(median_ms(synthesis, repeat, device), 1))
    for what, base, objective in (
        ("invert_step", INVERT_DEFAULTS, Objective(targets, chips)),
        ("swap_step", SWAP_DEFAULTS, Objective(targets, chips, source_embedding=source)),
    ):
        runs = {}
        for count in (1, 1 + steps):
            options = replace(base, steps=count)

            def run(options=options, objective=objective) -> None:
                optimise_latent(generator, wplus, objective, options, face_loss)

            runs[count] = median_ms(run, repeat, device)
        emit(**record, what=what, ms=round((runs[1 + steps] - runs[1]) / steps, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layouts", default="small,256,1024")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=2, help="Extra steps timed per figure.")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    face_loss = DlibFaceLoss().to(device)
    for name in args.layouts.split(","):
        bench_layout(name, face_loss, args.batch, args.repeat, args.steps, device)
    encoder = E4EEncoder(FFHQ_E4E).eval().requires_grad_(False).to(device)
    images = torch.rand(args.batch, 3, 256, 256, device=device) * 2 - 1

    def encode() -> None:
        with torch.no_grad():
            encoder(images)

    emit(layout="e4e_ffhq", what="e4e_encode", batch=args.batch, device=str(device),
         ms=round(median_ms(encode, args.repeat, device), 1))  # fmt: skip


if __name__ == "__main__":
    main()
