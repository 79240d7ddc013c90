"""Face enhancers on real swapped-crop geometry: the model sees the face at its own alignment, its output
comes back into the swapper's crop over the model's area only, blended by the step's strength, and the
chain runs the steps in the order given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from enhancer_toys import face_enhancer_model, shifted

from faceforge.enhance.face import FaceEnhancer, coverage, model_matrix
from faceforge.enhance.onnx_face import OnnxFaceModel
from faceforge.enhance.options import EnhanceOptions
from faceforge.geometry.alignment import TEMPLATES, align_face
from faceforge.processors.chain import ProcessorChain
from faceforge.types import AlignedFace


@pytest.fixture(scope="module")
def aligned(analyser, photo) -> AlignedFace:
    """face_frontal_a laid out the way the mesh swapper crops it (full-face, 256 px)."""
    image = photo("face_frontal_a.jpg")
    return align_face(image, analyser.faces(image)[0], TEMPLATES["full-face"], 256)


def test_the_model_output_returns_over_its_own_area_only(tmp_path: Path, aligned: AlignedFace) -> None:
    model = OnnxFaceModel(str(face_enhancer_model(tmp_path / "shift.onnx", 512, gain=1.0)), device="cpu")
    crop = aligned.image
    [out] = FaceEnhancer("shift", model, blend=1.0).process([aligned], [crop])
    area = coverage(model_matrix(aligned, model), model.size, crop.shape[0])
    inside, outside = area > 0.999, area == 0.0
    assert inside.mean() > 0.3 and outside.any()  # FFHQ's crop covers the face, not the whole head crop
    # Inside: the model's output (channels shifted) after the round trip between the two layouts.
    error = np.abs(out[inside].astype(int) - shifted(crop)[inside].astype(int))
    assert error.mean() < 4.0  # two resamplings (256 -> 512 -> 256 px) soften the finest detail a little
    # Outside: the swapped crop, untouched.
    np.testing.assert_array_equal(out[outside], crop[outside])


def test_the_blend_mixes_the_enhancement_in(tmp_path: Path, aligned: AlignedFace) -> None:
    model = OnnxFaceModel(str(face_enhancer_model(tmp_path / "shift.onnx", 512, gain=1.0)), device="cpu")
    crop = aligned.image
    full = FaceEnhancer("shift", model, blend=1.0).process([aligned], [crop])[0].astype(float)
    half = FaceEnhancer("shift", model, blend=0.5).process([aligned], [crop])[0].astype(float)
    assert np.abs(half - (full + crop) / 2.0).max() <= 1.0
    none = FaceEnhancer("shift", model, blend=0.0).process([aligned], [crop])[0]
    np.testing.assert_array_equal(none, crop)


def test_gpen_256_sees_the_arcface_layout(tmp_path: Path, aligned: AlignedFace) -> None:
    """The 256-px model's crop is the 128-px ArcFace layout: its eyes land on that template's points."""
    model = OnnxFaceModel(str(face_enhancer_model(tmp_path / "gpen.onnx", 256)), device="cpu")
    matrix = model_matrix(aligned, model)
    from faceforge.geometry.alignment import anchor_points

    eyes = anchor_points(aligned.landmarks)[:2] @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(eyes, TEMPLATES["arcface_128"].scaled(256)[:2], atol=6.0)


def test_the_chain_runs_face_steps_in_the_order_given(tmp_path: Path, aligned: AlignedFace) -> None:
    darken = str(face_enhancer_model(tmp_path / "darken.onnx", 512, gain=0.5, offset=-0.5))
    invert = str(face_enhancer_model(tmp_path / "invert.onnx", 512, gain=-1.0))
    crop = aligned.image
    results = {}
    for order in ((darken, invert), (invert, darken)):
        steps = tuple(f"face={path}:1" for path in order)
        chain = ProcessorChain((), enhance=EnhanceOptions(steps=steps, identity_threshold=0.0, device="cpu"))
        try:
            assert chain.names == tuple(f"face={path}:1" for path in order)
            results[order] = chain.process_faces([aligned], [crop])[0]
            one_by_one = crop
            for processor in chain.face:
                one_by_one = processor.process([aligned], [one_by_one])[0]
            np.testing.assert_array_equal(results[order], one_by_one)
        finally:
            chain.close()
    difference = np.abs(results[(darken, invert)].astype(int) - results[(invert, darken)].astype(int))
    assert difference.mean() > 20  # the two orders differ: darken-then-invert is bright, the other dark
