"""AEI-Net inference speed at 256 px: GHOST's generator layouts (U-Net, 1, 2 and 3 AAD blocks, official width,
random weights) through the ghost swapper's two runners, against a plain eager baseline measured in the same
run.

Prints one JSON line per figure:

- ``baseline``: plain eager PyTorch, float32, batch 1: ``model(x, z)`` under ``torch.no_grad`` on float
  tensors made beforehand (no pixel conversion);
- ``torch``: the swapper's :class:`~faceforge.swappers.ghost.TorchGenerator` (uint8 crops in, uint8 faces
  out, ``inference_mode``), float32 on the CPU and float16 on CUDA, and bfloat16 autocast
  (``--precision bf16``), at batch 1 and ``--batch``;
- ``onnx``: :class:`~faceforge.swappers.ghost.OnnxGenerator` on the model exported at opset 17 (export time
  reported once as ``export_s``), at batch 1 and ``--batch``;

each with ``fps`` (frames per second, from the median of ``--repeat`` timed calls), ``ms_per_frame`` and
``ratio_to_baseline`` (its fps over the baseline's fps for the same layout). All paths of a layout are
warmed up with one call each, then timed one call each in turn (the order rotating every round), so a host
that speeds up or slows down during the run reaches every path alike. The torch model and the onnxruntime
session are therefore in memory together.

Usage: ``python benchmarks/oneshot.py [--quick] [--blocks 1,2,3] [--batch 4] [--repeat 3] [--device cuda]``.
``--quick`` runs one block at width 8 with one timed call: it checks every path in seconds, and its
numbers say nothing about the official networks.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from faceforge.nets.aeinet import AEINet, AEINetConfig
from faceforge.nets.onnx_export import export_aeinet_onnx
from faceforge.swappers.ghost import OnnxGenerator, TorchGenerator, torch_runtime
from faceforge.weights.onnx_session import CUDA_PROVIDER

OFFICIAL_WIDTH = 32
SIZE = 256
Sync = Callable[[], None]
PRECISION_NAMES = {torch.float16: "fp16", torch.bfloat16: "bf16", torch.float32: "fp32"}


def emit(**record: object) -> None:
    print(json.dumps({"benchmark": "oneshot", **record}), flush=True)


def interleaved_seconds(calls: dict[str, Callable[[], object]], repeat: int, sync: Sync) -> dict[str, float]:
    """Median seconds per call of each entry: one warm-up call each, then ``repeat`` rounds of one timed
    call each, starting one entry later every round."""
    for call in calls.values():
        call()
    sync()
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeat):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            calls[name]()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def baseline_call(model: AEINet, source: np.ndarray, device: torch.device) -> Callable[[], object]:
    """Plain eager float32 at batch 1 on tensors made beforehand: the figure the others are compared to."""
    x = torch.rand(1, 3, SIZE, SIZE, device=device) * 2 - 1
    z = torch.from_numpy(source).to(device)

    def plain() -> object:
        with torch.no_grad():
            return model(x, z)[0]

    return plain


def run_layout(blocks: int, width: int, args: argparse.Namespace, workdir: Path) -> None:
    device, _ = torch_runtime(args.device, "auto")
    sync: Sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    config = AEINetConfig(num_blocks=blocks, width=width)
    torch.manual_seed(blocks)
    model = AEINet(config).eval()
    rng = np.random.default_rng(blocks)
    source = rng.standard_normal((1, config.c_id)).astype(np.float32)
    batches = sorted({1, args.batch})
    crops = {batch: rng.integers(0, 256, (batch, SIZE, SIZE, 3), dtype=np.uint8) for batch in batches}
    common = {"blocks": blocks, "width": width, "device": str(device), "threads": torch.get_num_threads()}

    onnx_path = workdir / f"aeinet-{blocks}-{width}.onnx"
    start = time.perf_counter()
    export_aeinet_onnx(model, onnx_path)
    emit(**common, path="onnx", export_s=round(time.perf_counter() - start, 1))

    # (path, precision, batch) -> one call of that path
    calls: dict[tuple[str, str, int], Callable[[], object]] = {
        ("baseline", "fp32", 1): baseline_call(model.to(device, torch.float32), source, device)
    }
    for choice in ("auto", "bf16"):  # fp16 on CUDA / fp32 on the CPU, then bfloat16 autocast
        _, dtype = torch_runtime(args.device, choice)
        # A float16 runner halves its model in place; the float32 ones share the baseline's.
        runner = TorchGenerator(copy.deepcopy(model) if dtype == torch.float16 else model, device, dtype)
        for batch in batches:
            calls["torch", PRECISION_NAMES[dtype], batch] = partial(runner, crops[batch], source)
    if device.type == "cuda" and CUDA_PROVIDER not in onnxruntime.get_available_providers():
        emit(**common, path="onnx", skipped="this onnxruntime has no CUDA provider (onnxruntime-gpu)")
    else:
        session = OnnxGenerator(onnx_path, args.device)
        for batch in batches:
            calls["onnx", "fp32", batch] = partial(session, crops[batch], source)

    seconds = interleaved_seconds(calls, args.repeat, sync)
    base_fps = 1 / seconds["baseline", "fp32", 1]
    for (path, precision, batch), took in seconds.items():
        fps = batch / took
        emit(
            **common,
            path=path,
            precision=precision,
            batch=batch,
            fps=round(fps, 3),
            ms_per_frame=round(1000 * took / batch, 1),
            ratio_to_baseline=round(fps / base_fps, 3),
        )
    onnx_path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one block at width 8, one timed call")
    parser.add_argument("--blocks", default="1,2,3", help="AAD blocks per ResBlk to measure")
    parser.add_argument("--batch", type=int, default=4, help="the larger batch (batch 1 is always run)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per figure")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    args = parser.parse_args()
    blocks = [int(b) for b in args.blocks.split(",")]
    width = OFFICIAL_WIDTH
    if args.quick:
        blocks, width, args.repeat, args.batch = blocks[:1], 8, 1, 2
    with tempfile.TemporaryDirectory(prefix="faceforge-oneshot-bench-") as folder:
        for count in blocks:
            run_layout(count, width, args, Path(folder))


if __name__ == "__main__":
    main()
