"""Contact sheet of the mesh swap: one row per source/target pair, source | target | before | after.

"before" is the mesh swapper with the options given by ``--before`` (by default its quality stages
off: no shape transfer, mirror fill only for triangles that face away), "after" is its default; both are
composed with the default compose options, as ``faceforge swap`` does. Every row is labelled with the
pair and, when a face is declined, the reason. Prints one JSON line per pair (ms per face of each swap,
declined reasons) and writes the sheet as PNG.

    python benchmarks/contact_sheet.py -o docs/contact-sheets/mesh.png [--height 160] [--pairs CSV]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import cv2
import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.compose.compositor import compose
from faceforge.geometry.alignment import align_face
from faceforge.media.images import read_image
from faceforge.swappers.mesh import MeshSwapOptions, MeshSwapper
from faceforge.types import SourceIdentity

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "evaluation" / "golden_pairs.csv"
BEFORE = MeshSwapOptions(shape=0.0, mirror_below=0.0)


# Beyond the golden pairs: turned and low-key sources on frontal targets, every other photo as a target.
EXTRA_PAIRS = (
    ("face_grayscale_d.jpg", "face_frontal_b.jpg"),
    ("face_lowkey_c.jpg", "face_frontal_a.jpg"),
    ("face_glasses_e.png", "face_frontal_b.jpg"),
    ("face_grayscale_d.jpg", "face_darkskin_i.jpg"),
    ("face_frontal_a.jpg", "face_roll_h.png"),
    ("face_darkskin_i.jpg", "face_glasses_e.png"),
    ("face_roll_h.png", "face_lowkey_c.jpg"),
    ("face_lookup_g.jpg", "face_frontal_a.jpg"),
    ("face_frontal_a.jpg", "face_profile_f.jpg"),
    ("face_frontal_b.jpg", "face_profile_f.jpg"),
)


def default_pairs() -> list[tuple[Path, Path]]:
    """The golden photo pairs (the clip left out), then :data:`EXTRA_PAIRS`."""
    with GOLDEN.open() as handle:
        rows = [(GOLDEN.parent / r["source"], GOLDEN.parent / r["target"]) for r in csv.DictReader(handle)]
    golden = [(s.resolve(), t.resolve()) for s, t in rows if t.suffix.lower() != ".mp4"]
    return golden + [(TESTDATA / s, TESTDATA / t) for s, t in EXTRA_PAIRS]


def swapped(analyser: FaceAnalyser, swapper: MeshSwapper, source: np.ndarray, target: np.ndarray):
    """The composed output frame, the ms the swapper took, and the decline reason (None when swapped)."""
    identity = SourceIdentity(views=((source, analyser.faces(source)[0]),))
    prepared = swapper.prepare_source(identity)
    aligned = align_face(target, analyser.faces(target)[0], swapper.template, swapper.crop_size)
    start = time.perf_counter()
    (result,) = swapper.swap([aligned], prepared)
    elapsed = (time.perf_counter() - start) * 1000
    if result.declined is not None:
        return target, elapsed, result.declined
    return compose(target, aligned, result.image, swapper_mask=result.mask), elapsed, None


def tile(image: np.ndarray, height: int, label: str = "") -> np.ndarray:
    width = round(image.shape[1] * height / image.shape[0])
    out = cv2.resize(np.ascontiguousarray(image[..., :3]), (width, height), interpolation=cv2.INTER_AREA)
    if label:
        cv2.putText(out, label, (4, height - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--height", type=int, default=160, help="row height in pixels")
    parser.add_argument("--pairs", type=Path, help="CSV with source,target columns (default: see docstring)")
    parser.add_argument("--before-shape", type=float, default=BEFORE.shape)
    parser.add_argument("--before-mirror-below", type=float, default=BEFORE.mirror_below)
    args = parser.parse_args()
    if args.pairs:
        with args.pairs.open() as handle:
            pairs = [
                (args.pairs.parent / r["source"], args.pairs.parent / r["target"])
                for r in csv.DictReader(handle)
            ]
    else:
        pairs = default_pairs()
    before = MeshSwapper(MeshSwapOptions(shape=args.before_shape, mirror_below=args.before_mirror_below))
    after = MeshSwapper()
    rows = []
    with FaceAnalyser() as analyser:
        for source_path, target_path in pairs:
            source, target = read_image(source_path)[..., :3], read_image(target_path)[..., :3]
            old, old_ms, _ = swapped(analyser, before, source, target)
            new, new_ms, declined = swapped(analyser, after, source, target)
            name = f"{source_path.stem.removeprefix('face_')} -> {target_path.stem.removeprefix('face_')}"
            print(
                json.dumps(
                    {
                        "pair": name,
                        "before_ms": round(old_ms, 2),
                        "after_ms": round(new_ms, 2),
                        "declined": declined,
                    }
                )
            )
            h = args.height
            row = [
                tile(source, h, "source"),
                tile(target, h, name),
                tile(old, h, "before"),
                tile(new, h, declined or "after"),
            ]
            rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.output), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


if __name__ == "__main__":
    main()
