"""Training throughput: examples per second for each architecture at its native size, and the speed-up of
faceforge's training step over a plain eager PyTorch step of the same model, measured in the same run.

Prints one JSON line per figure. The plain step: the model as built (contiguous tensors), torch's default
Adam, both sides forwarded separately, batches loaded in the main process between steps. faceforge's
step (:class:`faceforge.training.trainer.Trainer`): one forward for both sides, channels-last tensors,
fused Adam, batches prepared by background workers while the model computes, optionally torch.compile.
Both use the same facesets, augmentation, loss and batch size.

    python benchmarks/train.py [--archs original,dfaker] [--iterations 3] [--warmup 1] [--compile]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from faceforge.nets.autoencoders import ARCHITECTURES, build_autoencoder
from faceforge.training.config import TrainConfig
from faceforge.training.data import FacesetDataset, make_loader
from faceforge.training.losses import swap_loss
from faceforge.training.trainer import Trainer

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


def facesets(root: Path) -> tuple[Path, Path]:
    from faceforge.analysis.analyser import FaceAnalyser
    from faceforge.facesets.extract import ExtractOptions, extract_faceset

    options = ExtractOptions(size=256, every=3, identity_every=64)
    with FaceAnalyser() as analyser:
        extract_faceset([TESTDATA / "talking_audio_3s.mp4"], root / "a", options, analyser)
        extract_faceset([TESTDATA / "short_noaudio_small.mp4"], root / "b", options, analyser)
    return root / "a", root / "b"


def plain_step_rate(config: TrainConfig, a: Path, b: Path, warmup: int, iterations: int) -> float:
    model = build_autoencoder(config.model)
    opt = torch.optim.Adam(model.parameters(), lr=config.optimiser.lr, betas=config.optimiser.betas)
    sizes = (config.model.input_size, config.model.output_size)

    def endless(loader):
        while True:
            yield from loader

    loaders = [
        endless(
            make_loader(FacesetDataset(path, *sizes, config.augment, seed=i), config.batch_size, 0, seed=i)
        )
        for i, path in enumerate((a, b))
    ]

    def step() -> None:
        batches = [next(loader) for loader in loaders]
        total = 0.0
        for side, batch in zip("ab", batches, strict=True):
            rgb, mask = model(batch["input"], side)
            total = total + swap_loss(rgb, mask, batch, config.loss)[0]
        opt.zero_grad()
        total.backward()
        opt.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    return 2 * config.batch_size * iterations / (time.perf_counter() - start)


def faceforge_step_rate(
    config: TrainConfig, a: Path, b: Path, warmup: int, iterations: int, out: Path
) -> float:
    with Trainer(config, a, b, out, device="cpu", tensorboard=False) as trainer:
        streams = trainer.streams
        for _ in range(warmup):
            trainer.step(next(streams["a"]), next(streams["b"]))
        start = time.perf_counter()
        for _ in range(iterations):
            trainer.step(next(streams["a"]), next(streams["b"]))
        return 2 * config.batch_size * iterations / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default=",".join(a for a in ARCHITECTURES))
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--batch", type=int, default=0, help="batch per person (0: 16 for 64 px, 8 above)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--compile", action="store_true", help="also measure faceforge's step with torch.compile"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        a, b = facesets(Path(tmp))
        for arch in args.archs.split(","):
            model = ARCHITECTURES[arch]
            batch = args.batch or (16 if max(model.input_size, model.output_size) <= 64 else 8)
            config = TrainConfig(model=model, batch_size=batch, workers=args.workers, preview_every=0)
            common = {"arch": arch, "input": model.input_size, "output": model.output_size, "batch": batch,
                      "threads": torch.get_num_threads(), "cpus": os.cpu_count()}  # fmt: skip
            plain = plain_step_rate(config, a, b, args.warmup, args.iterations)
            print(
                json.dumps({"figure": "plain_eager_examples_per_s", **common, "value": round(plain, 2)}),
                flush=True,
            )
            ours = faceforge_step_rate(config, a, b, args.warmup, args.iterations, Path(tmp) / f"m-{arch}")
            print(
                json.dumps({"figure": "faceforge_examples_per_s", **common, "value": round(ours, 2)}),
                flush=True,
            )
            print(
                json.dumps({"figure": "speedup_vs_plain", **common, "value": round(ours / plain, 3)}),
                flush=True,
            )
            if args.compile:
                compiled = dataclasses.replace(config, compile=True)
                rate = faceforge_step_rate(
                    compiled, a, b, args.warmup + 1, args.iterations, Path(tmp) / f"c-{arch}"
                )
                figure = {"figure": "faceforge_compiled_examples_per_s", **common, "value": round(rate, 2)}
                print(json.dumps(figure), flush=True)


if __name__ == "__main__":
    main()
