"""Milliseconds per face (per frame for the frame enhancer) of each post-processing path, at the threads
torch and onnxruntime pick (2 cores on the dev machine).

Prints one JSON line per path on stdout:

- ``restorer``: faceforge's own restorer (default shape, 32 channels, 4 blocks) through the face enhancer
  on a 256-px mesh-swapper crop: the warp to the restorer's layout, the network, the warp back, the blend
  (the weights are freshly initialised or ``--restorer MODEL_DIR``; speed does not depend on them);
- ``onnx-ffhq-512-io``: the same face enhancer around a toy ONNX graph with GFPGAN's I/O (one Gather, one
  Mul, one Add): what faceforge adds around a published 512-px enhancer, whose own network time comes on
  top and is not measured here (no such weights on this machine);
- ``identity-guard-pass``: what the identity guard adds per face when the enhancement keeps identity
  (dlib ResNet in torch, 2 chips); ``identity-guard-retry``: when it does not (2 more chips, half and
  quarter blend);
- ``frame-x2-io``: the tiled frame enhancer on a 640x360 frame with a toy x2 nearest-neighbour graph:
  tiling, feeding and blending, without an upscaler's own network time;
- ``pixel-boost-512-io``: an inswapper-shaped toy at 128 px run on the 16 sub-grids of a 512-px crop.

Usage: ``python benchmarks/enhance.py [--repeat N] [--restorer MODEL_DIR]``.

``--sheet PNG --faceset DIR --restorer MODEL_DIR`` instead writes the before/after picture of
docs/enhance.md: for each face the restorer's training held out, the two fixed degradations of
:mod:`faceforge.training.restorer.measure` and their restorations beside the clean crop, and prints the
held-out scores as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "enhance")]

from enhancer_toys import face_enhancer_model, upscaler_model  # noqa: E402
from onnx_toys import recogniser_model, swapper_model  # noqa: E402

from faceforge.analysis.analyser import FaceAnalyser  # noqa: E402
from faceforge.analysis.identity import create_identity_encoder  # noqa: E402
from faceforge.config import NeuralOptions  # noqa: E402
from faceforge.enhance.face import FaceEnhancer  # noqa: E402
from faceforge.enhance.frame import FrameEnhancer, OnnxUpscaler  # noqa: E402
from faceforge.enhance.guard import IdentityGuard  # noqa: E402
from faceforge.enhance.onnx_face import OnnxFaceModel  # noqa: E402
from faceforge.enhance.restorer import RestorerModel  # noqa: E402
from faceforge.geometry.alignment import TEMPLATES, align_face  # noqa: E402
from faceforge.media.images import read_image  # noqa: E402
from faceforge.swappers.onnx import OnnxSwapper  # noqa: E402
from faceforge.types import AlignedFace, SourceIdentity  # noqa: E402


def emit(path: str, ms: float, **extra: object) -> None:
    print(json.dumps({"benchmark": "enhance", "path": path, "ms": round(ms, 2), **extra}), flush=True)


def timed(run: Callable[[], object], repeat: int) -> float:
    run()  # warm-up: sessions, allocations
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) * 1000.0 / repeat


def fresh_restorer(folder: Path) -> Path:
    """A restorer model folder holding untrained weights of the default shape."""
    from faceforge.enhance.restorer import FORMAT, VERSION
    from faceforge.enhance.restorer_net import RestorerNet
    from faceforge.training.checkpoint import CheckpointStore

    net = RestorerNet()
    store = CheckpointStore(folder)
    crop = {"template": "full-face", "size": 256}
    store.write_config({"format": FORMAT, "version": VERSION, "net": net.shape.to_dict(), "crop": crop})
    store.save(0, net.state_dict(), {}, loss=None)
    return folder


def sheet(output: Path, faceset: Path, model_dir: Path) -> None:
    """degraded | restored | shrunk x3 (bicubic) | restored | clean, one row per held-out face."""
    import cv2

    from faceforge.models.folder import ModelFolder
    from faceforge.training.restorer.data import faceset_crops, load_crop, split_holdout
    from faceforge.training.restorer.measure import blur_noise_jpeg, downscaled, held_out_scores

    model = RestorerModel(model_dir, "cpu")
    holdout = int(ModelFolder(model_dir).read_config()["train"]["holdout"])
    files, _, _ = faceset_crops(faceset)
    crops = [load_crop(path, model.size) for path in split_holdout(files, holdout)[1]]
    rows = []
    for i, crop in enumerate(crops):
        noisy = blur_noise_jpeg(crop, i)
        bicubic = downscaled(crop)[1]
        restored = model.restore(np.stack([noisy, bicubic]))
        rows.append(np.concatenate([noisy, restored[0], bicubic, restored[1], crop], axis=1))
    grid = np.concatenate(rows, axis=0)
    cv2.imwrite(str(output), grid[..., ::-1])
    scores = held_out_scores(model, crops)
    for case, row in scores.items():
        for name, value in row.items():
            print(
                json.dumps(
                    {"case": case, "image": name, "psnr": round(value.psnr, 2), "ssim": round(value.ssim, 4)}
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--restorer", type=Path, default=None)
    parser.add_argument("--sheet", type=Path, default=None)
    parser.add_argument("--faceset", type=Path, default=None)
    args = parser.parse_args()
    if args.sheet is not None:
        sheet(args.sheet, args.faceset, args.restorer)
        return
    with FaceAnalyser() as analyser, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        image = read_image(TESTDATA / "face_frontal_a.jpg")
        face = analyser.faces(image)[0]
        aligned: AlignedFace = align_face(image, face, TEMPLATES["full-face"], 256)
        crops = [aligned.image]

        restorer = RestorerModel(args.restorer or fresh_restorer(folder / "restorer"), "cpu")
        enhancer = FaceEnhancer("restorer", restorer, 0.8)
        emit("restorer", timed(lambda: enhancer.process([aligned], crops), args.repeat), crop=256)

        toy = OnnxFaceModel(str(face_enhancer_model(folder / "gfpgan_io.onnx", 512)), device="cpu")
        onnx_enhancer = FaceEnhancer("onnx", toy, 0.8)
        emit(
            "onnx-ffhq-512-io", timed(lambda: onnx_enhancer.process([aligned], crops), args.repeat), crop=256
        )

        without = timed(lambda: onnx_enhancer.process([aligned], crops), args.repeat)
        encoder = create_identity_encoder()
        for label, threshold in (("identity-guard-pass", 10.0), ("identity-guard-retry", 1e-6)):
            guard = IdentityGuard(encoder, threshold)  # type: ignore[arg-type]
            guarded = FaceEnhancer("onnx", toy, 0.8, guard)
            ms = timed(lambda enhancer=guarded: enhancer.process([aligned], crops), args.repeat)
            emit(label, ms - without, crop=256)

        upscaler = OnnxUpscaler(str(upscaler_model(folder / "x2.onnx", 2)), tile=256, device="cpu")
        frame = np.ascontiguousarray(np.resize(image, (360, 640, 3)))
        frame_enhancer = FrameEnhancer("x2", upscaler, 0.8)
        emit("frame-x2-io", timed(lambda: frame_enhancer.process([frame]), args.repeat), frame="640x360")

        rng = np.random.default_rng(0)
        swapper_model(
            folder / "inswapper_io.onnx", 128, emap=rng.normal(0, 0.1, (512, 512)).astype(np.float32)
        )
        recogniser_model(
            folder / "rec.onnx", rng.normal(size=(3, 512)).astype(np.float32), np.zeros(512, np.float32)
        )
        options = NeuralOptions(
            weights=str(folder / "inswapper_io.onnx"),
            identity_weights=str(folder / "rec.onnx"),
            device="cpu",
            pixel_boost=512,
        )
        swapper = OnnxSwapper(options)
        vector = swapper.prepare_source(SourceIdentity(views=((image, face),)))
        boosted = align_face(image, face, swapper.template, swapper.crop_size)
        emit("pixel-boost-512-io", timed(lambda: swapper.swap([boosted], vector), args.repeat), crop=512)


if __name__ == "__main__":
    main()
