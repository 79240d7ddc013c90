"""Training throughput: examples per second for each architecture at its native size, and the speed-up of
faceforge's training step over a plain eager PyTorch step of the same model, measured in the same run.

Prints one JSON line per figure. The plain step: the model as built (contiguous tensors), torch's default
Adam, both sides forwarded separately, batches loaded in the main process between steps. faceforge's
step (:class:`faceforge.training.trainer.Trainer`): one forward for both sides, channels-last tensors,
fused Adam, bfloat16 autocast on CPUs that compute it natively (``--amp auto``), batches prepared by
background workers while the model computes, optionally torch.compile. Both use the same facesets,
augmentation, loss and batch size. The two are timed a step each in turn (after warm-up) and the medians
compared, so a host that speeds up or slows down during the run affects both alike.

    python benchmarks/train.py [--archs original,dfaker] [--iterations 5] [--warmup 1] [--compile]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
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


def plain_step(config: TrainConfig, a: Path, b: Path) -> Callable[[], None]:
    """One eager step of the plain baseline, batches loaded in the main process."""
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

    return step


def faceforge_step(trainer: Trainer) -> Callable[[], None]:
    streams = trainer.streams
    return lambda: trainer.step(next(streams["a"]), next(streams["b"]))  # type: ignore[return-value]


def interleaved_rates(steps: dict[str, Callable[[], None]], examples: int, warmup: int, rounds: int):
    """Examples per second of each step function: warmed up, then timed one step each in turn, ``rounds``
    times, so drift in the host's speed hits every contender alike; the median step time counts."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: examples / statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default=",".join(a for a in ARCHITECTURES))
    parser.add_argument("--iterations", type=int, default=5, help="timed steps of each contender")
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
            contenders = {"plain": plain_step(config, a, b)}
            with contextlib.ExitStack() as stack:
                trainer = stack.enter_context(
                    Trainer(config, a, b, Path(tmp) / f"m-{arch}", device="cpu", tensorboard=False)
                )
                contenders["faceforge"] = faceforge_step(trainer)
                if args.compile:
                    compiled = dataclasses.replace(config, compile=True)
                    trainer = stack.enter_context(
                        Trainer(compiled, a, b, Path(tmp) / f"c-{arch}", device="cpu", tensorboard=False)
                    )
                    contenders["faceforge_compiled"] = faceforge_step(trainer)
                rates = interleaved_rates(contenders, 2 * batch, args.warmup, args.iterations)
            for name, rate in rates.items():
                figure = {"figure": f"{name}_examples_per_s", **common, "value": round(rate, 2)}
                print(json.dumps(figure), flush=True)
            for name in rates.keys() - {"plain"}:
                ratio = rates[name] / rates["plain"]
                figure = {"figure": f"speedup_{name}_vs_plain", **common, "value": round(ratio, 3)}
                print(json.dumps(figure), flush=True)


if __name__ == "__main__":
    main()
