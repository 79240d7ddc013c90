"""Each published face enhancer family is fed and read the way facefusion runs the same files: RGB in
[-1, 1], [B, 3, S, S], CodeFormer's fidelity weight as a float64 ``weight`` input, the output clipped to
[-1, 1] and mapped back to 0-255; the crop layout (template and side) follows the family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from enhancer_toys import face_enhancer_model, shifted
from onnx_toys import swapper_model

from faceforge.enhance.onnx_face import FAMILIES, OnnxFaceModel
from faceforge.errors import WeightsError
from faceforge.weights import find_entry


def faces(size: int, count: int = 2) -> np.ndarray:
    return np.random.default_rng(size).integers(0, 256, (count, size, size, 3)).astype(np.uint8)


def expected(crops: np.ndarray, gain: float, offset: float) -> np.ndarray:
    """What the toy returns, read back the facefusion way."""
    model_out = gain * (shifted(crops).astype(np.float64) / 127.5 - 1.0) + offset
    return np.round((np.clip(model_out, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


@pytest.mark.parametrize(
    ("size", "family", "template"),
    [(512, "gfpgan", "ffhq_512"), (256, "gpen-bfr-256", "arcface_128")],
)
def test_a_file_the_catalog_does_not_know_is_recognised_by_its_inputs(
    tmp_path: Path, size: int, family: str, template: str
) -> None:
    path = face_enhancer_model(tmp_path / "mine.onnx", size, gain=-1.0, offset=0.25)
    model = OnnxFaceModel(str(path), device="cpu")
    assert (model.family.name, model.template.name, model.size) == (family, template, size)
    crops = faces(size)
    restored = model.restore(crops)
    assert restored.dtype == np.uint8 and restored.shape == crops.shape
    # Exact: a wrong range (say [0, 1]) or a BGR feed would change every pixel.
    np.testing.assert_array_equal(restored, expected(crops, -1.0, 0.25))


def test_codeformer_gets_its_fidelity_weight(tmp_path: Path) -> None:
    path = face_enhancer_model(tmp_path / "mine.onnx", 512, gain=0.5, fidelity_input=True)
    crops = faces(512, 1)
    outputs = {}
    for fidelity in (0.2, 0.7):
        model = OnnxFaceModel(str(path), fidelity=fidelity, device="cpu")
        assert model.family.name == "codeformer"
        outputs[fidelity] = model.restore(crops)
        difference = np.abs(outputs[fidelity].astype(int) - expected(crops, 0.5, fidelity))
        assert difference.max() <= 1  # float32 in the graph, float64 here: a rounding step at most
    assert not np.array_equal(outputs[0.2], outputs[0.7])


def test_a_dynamic_batch_axis_runs_the_whole_batch(tmp_path: Path) -> None:
    path = face_enhancer_model(tmp_path / "mine.onnx", 256, batch="batch")
    crops = faces(256, 3)
    np.testing.assert_array_equal(
        OnnxFaceModel(str(path), device="cpu").restore(crops), expected(crops, -1.0, 0.0)
    )


@pytest.mark.parametrize(
    ("filename", "family"),
    [
        ("gfpgan_1.4.onnx", "gfpgan"),
        ("codeformer.onnx", "codeformer"),
        ("gpen_bfr_256.onnx", "gpen-bfr-256"),
        ("gpen_bfr_512.onnx", "gpen-bfr-512"),
        ("restoreformer_plus_plus.onnx", "restoreformer++"),
    ],
)
def test_a_published_file_takes_its_family_from_the_catalog(
    tmp_path: Path, filename: str, family: str
) -> None:
    entry = find_entry(filename)
    assert entry is not None and entry.kind == "onnx-face-enhancer" and entry.family == family
    assert entry.licence
    spec = FAMILIES[family]
    path = face_enhancer_model(tmp_path / filename, spec.size, fidelity_input=spec.fidelity_input)
    model = OnnxFaceModel(str(path), device="cpu")
    assert model.family is spec


def test_a_swapper_is_refused_as_a_face_enhancer(tmp_path: Path) -> None:
    path = swapper_model(tmp_path / "swapper.onnx", 128)
    with pytest.raises(WeightsError, match="is not a face enhancer faceforge can run"):
        OnnxFaceModel(str(path), device="cpu")


def test_a_size_no_family_has_is_refused(tmp_path: Path) -> None:
    path = face_enhancer_model(tmp_path / "odd.onnx", 384)
    with pytest.raises(WeightsError, match="take 256 or 512 px"):
        OnnxFaceModel(str(path), device="cpu")
