"""Contact sheet of the default swap: one row per source/target pair, source | target | before | after.

"after" is this tree's default swap (``SwapSession`` with default options, as ``faceforge swap`` does);
"before" is the same swap made by an earlier faceforge: ``--before-tree`` names a folder holding that
version's ``src/`` (for example ``git archive 37657a2 src | tar -x -C /tmp/before``), which is run in a
child interpreter. Without ``--before-tree``, "before" is this tree's mesh swapper with its quality stages
off (no shape transfer, no mirror fill). Each output is labelled with its identity distance to the source
(faceforge's own dlib network: a stand-in, not an independent judge) or the reason it was declined.
Prints one JSON line per pair and writes the sheet (PNG or JPEG by the output's suffix).

    python benchmarks/contact_sheet.py -o docs/contact-sheets/mesh.jpg [--before-tree DIR] [--pairs CSV]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.media.images import read_image
from faceforge.pipeline.session import SwapSession
from faceforge.swappers.mesh import MeshSwapOptions, MeshSwapper

TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "evaluation" / "golden_pairs.csv"
STAGES_OFF = MeshSwapOptions(shape=0.0, mirror_below=0.0)

# Beyond the golden pairs: turned and low-key sources on frontal targets, every other photo as a target.
EXTRA_PAIRS = (
    ("face_grayscale_d.jpg", "face_frontal_b.jpg"),
    ("face_grayscale_d.jpg", "face_frontal_a.jpg"),
    ("face_lowkey_c.jpg", "face_frontal_a.jpg"),
    ("face_glasses_e.png", "face_frontal_b.jpg"),
    ("face_grayscale_d.jpg", "face_darkskin_i.jpg"),
    ("face_frontal_a.jpg", "face_roll_h.png"),
    ("face_roll_h.png", "face_frontal_b.jpg"),
    ("face_darkskin_i.jpg", "face_glasses_e.png"),
    ("face_roll_h.png", "face_lowkey_c.jpg"),
    ("face_lookup_g.jpg", "face_frontal_a.jpg"),
    ("face_frontal_a.jpg", "face_profile_f.jpg"),
)

# Run in the child interpreter on the earlier tree: every pair's default swap, written as PNG.
_BEFORE_SCRIPT = """
import json, sys
from pathlib import Path
import cv2
from faceforge.media.images import read_image
from faceforge.pipeline.session import SwapSession
for index, (source, target) in enumerate(json.loads(sys.argv[1])):
    with SwapSession([[Path(source)]]) as session:
        image = session.render_image(read_image(Path(target))[..., :3]).image
    cv2.imwrite(str(Path(sys.argv[2]) / f"{index}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
"""


def default_pairs() -> list[tuple[Path, Path]]:
    """The golden photo pairs (the clip left out), then :data:`EXTRA_PAIRS`."""
    with GOLDEN.open() as handle:
        rows = [(GOLDEN.parent / r["source"], GOLDEN.parent / r["target"]) for r in csv.DictReader(handle)]
    golden = [(s.resolve(), t.resolve()) for s, t in rows if t.suffix.lower() != ".mp4"]
    return golden + [(TESTDATA / s, TESTDATA / t) for s, t in EXTRA_PAIRS]


def before_images(tree: Path, pairs: list[tuple[Path, Path]], folder: Path) -> list[np.ndarray]:
    """Every pair swapped by the faceforge whose ``src/`` is in ``tree``, in a child interpreter."""
    environment = {**os.environ, "PYTHONPATH": str(tree / "src"), "OMP_NUM_THREADS": "1"}
    listing = json.dumps([[str(s), str(t)] for s, t in pairs])
    subprocess.run([sys.executable, "-c", _BEFORE_SCRIPT, listing, str(folder)], check=True, env=environment)
    return [read_image(folder / f"{index}.png") for index in range(len(pairs))]


def swapped(source: Path, target: np.ndarray, swapper: MeshSwapper | None = None) -> tuple[np.ndarray, str]:
    """This tree's swap of ``target`` and the decline reason ("" when swapped)."""
    with SwapSession([[source]], swapper=swapper) as session:
        rendered = session.render_image(target)
    return rendered.image, "declined" if rendered.faces_declined else ""


def identity_distance(analyser: FaceAnalyser, image: np.ndarray, source: np.ndarray) -> float | None:
    """dlib distance of the largest face in ``image`` to the ``source`` embedding, None without a face."""
    faces = analyser.faces(image)
    if not faces:
        return None
    face = analyser.embed(image, [max(faces, key=lambda f: f.size)])[0]
    return float(np.linalg.norm(face.embedding - source))


def face_window(analyser: FaceAnalyser, image: np.ndarray) -> tuple[slice, slice]:
    """A square around the largest face with half a face size of margin (clipped to the image)."""
    face = max(analyser.faces(image), key=lambda f: f.size)
    centre, half = (face.box[:2] + face.box[2:]) / 2, face.size
    top, left = (max(0, int(c - half)) for c in centre[::-1])
    return slice(top, int(centre[1] + half)), slice(left, int(centre[0] + half))


def tile(image: np.ndarray, height: int, label: str = "") -> np.ndarray:
    """``image`` scaled to a square of side ``height`` (it is a face window), labelled at the bottom."""
    out = cv2.resize(np.ascontiguousarray(image[..., :3]), (height, height), interpolation=cv2.INTER_AREA)
    if label:
        cv2.putText(out, label, (4, height - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(
            out, label, (4, height - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1, cv2.LINE_AA
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--height", type=int, default=240, help="row height in pixels")
    parser.add_argument("--pairs", type=Path, help="CSV with source,target columns (default: see docstring)")
    parser.add_argument("--before-tree", type=Path, help="folder with an earlier faceforge's src/")
    args = parser.parse_args()
    if args.pairs:
        with args.pairs.open() as handle:
            pairs = [
                (args.pairs.parent / r["source"], args.pairs.parent / r["target"])
                for r in csv.DictReader(handle)
            ]
    else:
        pairs = default_pairs()
    with tempfile.TemporaryDirectory(prefix="faceforge-sheet-") as tmp:
        if args.before_tree:
            befores = before_images(args.before_tree, pairs, Path(tmp))
        else:
            befores = [swapped(s, read_image(t)[..., :3], MeshSwapper(STAGES_OFF))[0] for s, t in pairs]
    rows = []
    with FaceAnalyser() as analyser:
        for (source_path, target_path), old in zip(pairs, befores, strict=True):
            source, target = read_image(source_path)[..., :3], read_image(target_path)[..., :3]
            embedding = analyser.embed(source, analyser.faces(source)[:1])[0].embedding
            new, declined = swapped(source_path, target)
            distances = [identity_distance(analyser, image, embedding) for image in (old, new)]
            name = f"{source_path.stem.removeprefix('face_')} -> {target_path.stem.removeprefix('face_')}"
            print(json.dumps({"pair": name, "id_source_before": distances[0], "id_source_after": distances[1],
                              "declined": bool(declined)}))  # fmt: skip

            def label(kind: str, distance: float | None, unchanged: bool) -> str:
                if unchanged:
                    return f"{kind}: left as it is"
                return f"{kind}: ID {distance:.3f}" if distance is not None else f"{kind}: no face"

            h, window = args.height, face_window(analyser, target)
            row = [
                tile(source[face_window(analyser, source)], h, "source"),
                tile(target[window], h, name),
                tile(old[window], h, label("before", distances[0], np.array_equal(old, target))),
                tile(new[window], h, label("after", distances[1], np.array_equal(new, target))),
            ]
            rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.output), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])


if __name__ == "__main__":
    main()
