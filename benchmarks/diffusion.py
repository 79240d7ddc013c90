"""CPU timings of the diffusion swapper with the tiny test stacks (random weights, tests/diffusion/
tiny_models.py): what a step costs at a given crop size, not what a real SD 1.5 / SDXL model costs.

Prints one JSON line per figure on stdout:

- ``build_s``: writing the tiny stack to a folder (the first one includes importing diffusers);
- ``load_s``: loading it as an inpainting pipeline;
- ``step_ms``: one UNet denoising step (with classifier-free guidance, so two UNet passes), from the
  difference between runs of 4 and 12 steps at strength 1 (the VAE and text encoder cost cancels);
- ``fixed_ms``: the rest of one inpaint call (text encoding, VAE encode and decode);
- ``auto_ms``: one face with --strength auto (five candidates, scored by the analyser and dlib);
- ``mask_ms``: the inpainting mask on a real photo's landmarks.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/diffusion.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
sys.path.insert(0, str(ROOT / "tests" / "diffusion"))

from tiny_models import build_sd15, build_sdxl  # noqa: E402

from faceforge.analysis.analyser import FaceAnalyser  # noqa: E402
from faceforge.diffusion.mask import inpaint_mask  # noqa: E402
from faceforge.diffusion.options import DiffusionSwapOptions  # noqa: E402
from faceforge.geometry.alignment import align_face  # noqa: E402
from faceforge.media.images import read_image  # noqa: E402
from faceforge.swappers.diffusion import DiffusionSwapper  # noqa: E402
from faceforge.types import SourceIdentity  # noqa: E402


def _best(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _emit(**figure: object) -> None:
    print(json.dumps(figure), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    target = read_image(TESTDATA / "face_frontal_b.jpg")
    source_image = read_image(TESTDATA / "face_frontal_a.jpg")
    with FaceAnalyser() as analyser, tempfile.TemporaryDirectory() as scratch:
        face = analyser.faces(target)[0]
        mask_s = _best(args.repeats, lambda: inpaint_mask(face.landmarks, target.shape[:2], 0.1))
        _emit(figure="mask_ms", photo="face_frontal_b.jpg", value=round(mask_s * 1000, 2))
        for family, build in (("sd15", build_sd15), ("sdxl", build_sdxl)):
            start = time.perf_counter()
            folder = build(Path(scratch) / family)
            _emit(figure="build_s", family=family, value=round(time.perf_counter() - start, 3))
            for size in (64, 128):
                options = DiffusionSwapOptions(base=str(folder), resolution=size, device="cpu", guidance=2.0)
                start = time.perf_counter()
                swapper = DiffusionSwapper(options)
                _emit(figure="load_s", family=family, size=size, value=round(time.perf_counter() - start, 3))
                aligned = align_face(target, face, swapper.template, size)
                mask = inpaint_mask(aligned.landmarks, (size, size))
                timings = {}
                for steps in (4, 12):
                    swapper.options = DiffusionSwapOptions(**{**_fields(options), "steps": steps})
                    timings[steps] = _best(
                        args.repeats, functools.partial(swapper.inpaint, aligned.image, mask, 1.0)
                    )
                step = (timings[12] - timings[4]) / 8
                _emit(figure="step_ms", family=family, size=size, value=round(step * 1000, 2))
                _emit(
                    figure="fixed_ms",
                    family=family,
                    size=size,
                    value=round((timings[4] - 4 * step) * 1000, 2),
                )
                swapper.close()
        source_face = analyser.embed(source_image, analyser.faces(source_image)[:1])[0]
        source = SourceIdentity(((source_image, source_face),), embedding=source_face.embedding)
        auto = DiffusionSwapper(
            DiffusionSwapOptions(base=str(Path(scratch) / "sd15"), resolution=64, steps=10, strength="auto")
        )
        prepared = auto.prepare_source(source)
        aligned = align_face(target, face, auto.template, 64)
        auto_s = _best(1, lambda: auto.swap([aligned], prepared))
        auto.close()
        _emit(figure="auto_ms", family="sd15", size=64, steps=10, value=round(auto_s * 1000, 1))


def _fields(options: DiffusionSwapOptions) -> dict[str, object]:
    from dataclasses import fields

    return {f.name: getattr(options, f.name) for f in fields(options)}


if __name__ == "__main__":
    main()
