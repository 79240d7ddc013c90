"""AEI-Net inference speed at 256 px: GHOST's generator layouts (U-Net, 1, 2 and 3 AAD blocks, official width,
random weights) through the ghost swapper's two runners, against a plain eager baseline measured in the same
run.

Prints one JSON line per figure:

- ``baseline``: plain eager PyTorch, float32, batch 1: ``model(x, z)`` under ``torch.no_grad`` on float
  tensors made beforehand (no pixel conversion);
- ``torch``: the swapper's :class:`~faceforge.swappers.ghost.TorchGenerator` (uint8 crops in, uint8 faces
  out, ``inference_mode``), float32 on the CPU and float16 on CUDA, then bfloat16 autocast
  (``--precision bf16``), at batch 1 and ``--batch``;
- ``onnx``: :class:`~faceforge.swappers.ghost.OnnxGenerator` on the model exported at opset 17 (export time
  reported once as ``export_s``), at batch 1 and ``--batch``;

each with ``fps`` (frames per second, from the median of ``--repeat`` timed calls after one warm-up call),
``ms_per_frame`` and ``ratio_to_baseline`` (its fps over the baseline's fps for the same layout).

Usage: ``python benchmarks/oneshot.py [--quick] [--blocks 1,2,3] [--batch 4] [--repeat 3] [--device cuda]``.
``--quick`` runs one block at width 8 with one timed call: it checks every path in seconds, and its
numbers say nothing about the official networks.
"""

from __future__ import annotations

import argparse
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


def emit(**record: object) -> None:
    print(json.dumps({"benchmark": "oneshot", **record}), flush=True)


def median_seconds(call: Callable[[], object], repeat: int, sync: Sync) -> float:
    call()
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def baseline_fps(model: AEINet, source: np.ndarray, device: torch.device, repeat: int, sync: Sync) -> float:
    """Plain eager float32 at batch 1 on tensors made beforehand: the figure the others are compared to."""
    model.to(device, torch.float32)
    x = torch.rand(1, 3, SIZE, SIZE, device=device) * 2 - 1
    z = torch.from_numpy(source).to(device)

    def plain() -> object:
        with torch.no_grad():
            return model(x, z)[0]

    return 1 / median_seconds(plain, repeat, sync)


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

    base = baseline_fps(model, source, device, args.repeat, sync)
    emit(**common, path="baseline", precision="fp32", batch=1, fps=round(base, 3))

    def report(path: str, precision: str, batch: int, seconds: float) -> None:
        fps = batch / seconds
        emit(
            **common,
            path=path,
            precision=precision,
            batch=batch,
            fps=round(fps, 3),
            ms_per_frame=round(1000 * seconds / batch, 1),
            ratio_to_baseline=round(fps / base, 3),
        )

    onnx_path = workdir / f"aeinet-{blocks}-{width}.onnx"
    start = time.perf_counter()
    export_aeinet_onnx(model.to("cpu"), onnx_path)
    emit(**common, path="onnx", export_s=round(time.perf_counter() - start, 1))

    for choice in ("auto", "bf16"):  # fp16 on CUDA / fp32 on the CPU, then bfloat16 autocast
        _, dtype = torch_runtime(args.device, choice)
        runner = TorchGenerator(model, device, dtype)
        precision = {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype, "fp32")
        for batch in batches:
            seconds = median_seconds(partial(runner, crops[batch], source), args.repeat, sync)
            report("torch", precision, batch, seconds)
        del runner
    del model  # the torch copy goes before onnxruntime loads its own

    if device.type == "cuda" and CUDA_PROVIDER not in onnxruntime.get_available_providers():
        emit(**common, path="onnx", skipped="this onnxruntime has no CUDA provider (onnxruntime-gpu)")
        return
    session = OnnxGenerator(onnx_path, args.device)
    for batch in batches:
        seconds = median_seconds(partial(session, crops[batch], source), args.repeat, sync)
        report("onnx", "fp32", batch, seconds)
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
