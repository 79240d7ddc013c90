"""The identity guard keeps an enhancer from changing who the face is: an enhancer that paints another
person's face in has its blend cut (here to nothing), one that keeps the face keeps its full blend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from enhancer_toys import face_enhancer_model, replacing_enhancer_model

from faceforge.enhance.onnx_face import FFHQ_512
from faceforge.enhance.options import EnhanceOptions
from faceforge.geometry.alignment import TEMPLATES, align_face
from faceforge.processors.chain import ProcessorChain
from faceforge.types import AlignedFace

THRESHOLD = 0.1


@pytest.fixture(scope="module")
def aligned(analyser, photo) -> AlignedFace:
    image = photo("face_frontal_a.jpg")
    return align_face(image, analyser.faces(image)[0], TEMPLATES["full-face"], 256)


def enhance(aligned: AlignedFace, model: Path, threshold: float) -> tuple[np.ndarray, list]:
    options = EnhanceOptions(steps=(f"face={model}:0.8",), identity_threshold=threshold, device="cpu")
    chain = ProcessorChain((), enhance=options)
    try:
        out = chain.process_faces([aligned], [aligned.image])[0]
        guard = chain.face[0].guard  # type: ignore[attr-defined]
        return out, list(guard.records) if guard is not None else []
    finally:
        chain.close()


def test_an_identity_changing_enhancer_is_held_back(analyser, photo, tmp_path: Path, aligned) -> None:
    other = photo("face_frontal_b.jpg")  # another person, laid out as the enhancer's FFHQ crop
    stranger = align_face(other, analyser.faces(other)[0], FFHQ_512, 512).image
    model = replacing_enhancer_model(tmp_path / "stranger.onnx", stranger)

    unguarded, _ = enhance(aligned, model, 0.0)
    guarded, [record] = enhance(aligned, model, THRESHOLD)

    assert record.distance > THRESHOLD  # the full blend moved the identity past the threshold
    assert record.blend < 0.8
    assert record.kept_distance <= THRESHOLD
    changed = np.abs(unguarded.astype(int) - aligned.image.astype(int)).mean()
    kept = np.abs(guarded.astype(int) - aligned.image.astype(int)).mean()
    assert kept < changed / 2  # far less of the stranger got in
    print(f"stranger: distance {record.distance:.3f} at blend 0.8, blend kept {record.blend:g}")


def test_an_enhancer_that_keeps_the_face_keeps_its_blend(tmp_path: Path, aligned) -> None:
    keep = face_enhancer_model(tmp_path / "keep.onnx", 512, gain=1.0)  # shifts channels: colour, not identity
    _, [record] = enhance(aligned, keep, 0.5)
    assert record.blend == pytest.approx(0.8)
    assert record.kept_distance == record.distance <= 0.5
