"""The ONNX ArcFace recogniser: ArcFace-aligned RGB crops in [-1, 1], raw embeddings, batched or not."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_toys import recogniser_model, swapper_model

from faceforge.analysis.arcface_onnx import ArcFaceOnnx
from faceforge.errors import WeightsError
from faceforge.geometry.alignment import TEMPLATES, align_face

RNG = np.random.default_rng(3)
WEIGHTS = RNG.normal(size=(3, 512)).astype(np.float32)
BIAS = RNG.normal(size=512).astype(np.float32)


@pytest.mark.parametrize("batch", ["batch", 1])
def test_embeddings_of_aligned_rgb_in_signed_range(tmp_path, analyser, photo, batch) -> None:
    recogniser = ArcFaceOnnx(recogniser_model(tmp_path / "rec.onnx", WEIGHTS, BIAS, batch=batch), "cpu")
    images = [photo("face_frontal_a.jpg"), photo("face_darkskin_i.jpg")]
    faces = [analyser.faces(image)[0] for image in images]
    crops = np.concatenate(
        [recogniser.crops(image, [face]) for image, face in zip(images, faces, strict=True)]
    )
    assert crops.shape == (2, 112, 112, 3) and recogniser.dimensions == 512
    expected = [
        (align_face(image, face, TEMPLATES["arcface_112_v2"], 112).image / 127.5 - 1.0).mean(axis=(0, 1))
        @ WEIGHTS
        + BIAS
        for image, face in zip(images, faces, strict=True)
    ]
    np.testing.assert_allclose(recogniser.embed_crops(crops), expected, rtol=1e-4, atol=1e-4)


def test_a_model_of_another_shape_is_refused(tmp_path) -> None:
    with pytest.raises(
        WeightsError, match=r"is not an ArcFace recogniser: it declares target\[batch,3,128,128\]"
    ):
        ArcFaceOnnx(swapper_model(tmp_path / "swapper.onnx", 128), "cpu")
