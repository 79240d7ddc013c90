"""Pixel boost: an inswapper-class 128-px model swaps a 256 or 512-px crop by running on its strided
sub-grids and re-interleaving them; on a toy whose output is a known function of its input
(``target + source[:3]``, per pixel) the boosted swap equals that function on the whole large crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx_toys import recogniser_model, swapper_model

from faceforge.config import NeuralOptions
from faceforge.errors import InputError
from faceforge.geometry.alignment import align_face
from faceforge.swappers.onnx import OnnxSwapper, explode, implode
from faceforge.types import SourceIdentity

RNG = np.random.default_rng(11)
EMAP = RNG.normal(0.0, 0.1, size=(512, 512)).astype(np.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("boost")
    swapper_model(folder / "toy_128.onnx", 128, emap=EMAP)
    swapper_model(folder / "toy_128_batch1.onnx", 128, emap=EMAP, batch=1)
    recogniser_model(
        folder / "rec.onnx", RNG.normal(size=(3, 512)).astype(np.float32), np.zeros(512, np.float32)
    )
    return folder


@pytest.fixture(scope="module")
def source(analyser, photo) -> SourceIdentity:
    image = photo("face_frontal_a.jpg")
    return SourceIdentity(views=((image, analyser.faces(image)[0]),))


def test_sub_grids_are_strided_and_re_interleave_exactly() -> None:
    crops = RNG.integers(0, 256, (2, 256, 256, 3)).astype(np.uint8)
    grids = implode(crops, 2)
    assert grids.shape == (8, 128, 128, 3)
    for b in range(2):
        for i in range(2):
            for j in range(2):
                np.testing.assert_array_equal(grids[b * 4 + i * 2 + j], crops[b, i::2, j::2])
    np.testing.assert_array_equal(explode(grids, 2), crops)


@pytest.mark.parametrize("model", ["toy_128.onnx", "toy_128_batch1.onnx"])
@pytest.mark.parametrize("boost", [256, 512])
def test_the_boosted_swap_is_the_models_function_on_the_large_crop(
    models: Path, source, analyser, photo, model: str, boost: int
) -> None:
    options = NeuralOptions(
        weights=str(models / model),
        identity_weights=str(models / "rec.onnx"),
        device="cpu",
        pixel_boost=boost,
    )
    swapper = OnnxSwapper(options)
    assert (swapper.model_size, swapper.crop_size, swapper.boost) == (128, boost, boost // 128)
    vector = swapper.prepare_source(source)
    image = photo("face_frontal_b.jpg")
    crop = align_face(image, analyser.faces(image)[0], swapper.template, swapper.crop_size)
    [result] = swapper.swap([crop], vector)
    assert result.image.shape == (boost, boost, 3)
    expected = 255.0 * np.clip(crop.image / 255.0 + vector[:3], 0.0, 1.0)
    np.testing.assert_allclose(result.image.astype(np.float64), expected, atol=1.0)


def test_a_boost_that_is_not_a_multiple_of_the_model_is_refused(models: Path) -> None:
    options = NeuralOptions(
        weights=str(models / "toy_128.onnx"),
        identity_weights=str(models / "rec.onnx"),
        device="cpu",
        pixel_boost=300,
    )
    with pytest.raises(InputError, match="takes a multiple of the model's 128-px crop"):
        OnnxSwapper(options)
