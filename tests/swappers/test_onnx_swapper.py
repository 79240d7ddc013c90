"""The ONNX swapper on tiny models with the published interfaces (see ``onnx_toys``): each family's
conventions (crop, pixel range, de-normalisation, identity mapping), batching, fp16, the CLI end to end,
and bad weights failing with one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args, get_type_hints

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto
from onnx_toys import converter_model, recogniser_model, swapper_model

from faceforge.config import NeuralOptions
from faceforge.errors import InputError, WeightsError
from faceforge.geometry.alignment import TEMPLATES, align_face
from faceforge.media.images import read_image
from faceforge.swappers.onnx import OnnxSwapper
from faceforge.swappers.onnx_families import FAMILIES
from faceforge.swappers.registry import create_swapper
from faceforge.types import AlignedFace, SourceIdentity
from faceforge.weights import CATALOG

RNG = np.random.default_rng(7)
RECOGNISER_W = RNG.normal(size=(3, 512)).astype(np.float32)
RECOGNISER_B = RNG.normal(0.0, 0.5, size=512).astype(np.float32)
EMAP = RNG.normal(0.0, 0.1, size=(512, 512)).astype(np.float32)
CONVERTER_C = RNG.normal(0.0, 0.01, size=(512, 512)).astype(np.float32)
CONVERTER_D = RNG.normal(0.0, 0.01, size=512).astype(np.float32)
IMAGENET_MEAN, IMAGENET_STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
SOURCES = ("face_frontal_a.jpg", "face_lowkey_c.jpg")
TARGET = "face_frontal_b.jpg"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("onnx-models")
    swapper_model(folder / "tiny_128.onnx", 128, emap=EMAP)
    swapper_model(folder / "tiny_128_fixed_batch.onnx", 128, emap=EMAP, batch=1)
    swapper_model(
        folder / "tiny_128_fp16.onnx", 128, emap=EMAP.astype(np.float16), element_type=TensorProto.FLOAT16
    )
    swapper_model(folder / "tiny_128_no_emap.onnx", 128)
    swapper_model(folder / "tiny_256.onnx", 256)
    swapper_model(folder / "simswap_256.onnx", 256)  # the upstream name: the catalog says simswap
    swapper_model(folder / "ghost_1_256.onnx", 256)  # the upstream name: the catalog says ghost
    swapper_model(folder / "ghost_unet_1_block.onnx", 256, output_name="781")  # VisoMaster's, as published
    swapper_model(folder / "renamed_io.onnx", 256, input_names=("input", "onnx::Gemm_1"))
    recogniser_model(folder / "rec.onnx", RECOGNISER_W, RECOGNISER_B)
    converter_model(folder / "converter.onnx", CONVERTER_C, CONVERTER_D)
    (folder / "not_a_model.onnx").write_text("these are not the weights you are looking for")
    return folder


@pytest.fixture(scope="module")
def source(analyser, photo) -> SourceIdentity:
    views = tuple((photo(name), analyser.faces(photo(name))[0]) for name in SOURCES)
    return SourceIdentity(views=views)


@pytest.fixture(scope="module")
def target_face(analyser, photo):
    return analyser.faces(photo(TARGET))[0]


def options(models: Path, weights: str, **changes: object) -> NeuralOptions:
    fields = {"identity_weights": str(models / "rec.onnx"), "device": "cpu", **changes}
    return NeuralOptions(weights=str(models / weights), **fields)


def raw_embedding(source: SourceIdentity) -> np.ndarray:
    """What the toy recogniser gives, averaged over the views, when fed ArcFace-aligned RGB in [-1, 1]."""
    raws = []
    for image, face in source.views:
        crop = align_face(image, face, TEMPLATES["arcface_112_v2"], 112).image
        means = (crop.astype(np.float64) / 127.5 - 1.0).mean(axis=(0, 1))
        raws.append(means @ RECOGNISER_W + RECOGNISER_B)
    return np.mean(raws, axis=0)


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def target_crop(swapper: OnnxSwapper, photo, face) -> AlignedFace:
    return align_face(photo(TARGET), face, swapper.template, swapper.crop_size)


def swapped_crop(swapper: OnnxSwapper, crop: AlignedFace, vector: np.ndarray) -> np.ndarray:
    (result,) = swapper.swap([crop], vector)
    assert result.image.dtype == np.uint8 and result.image.shape == crop.image.shape and result.mask is None
    return result.image.astype(np.float64)


def test_families_agree_with_the_option_and_the_catalog() -> None:
    assert set(FAMILIES) == set(get_args(get_type_hints(NeuralOptions)["family"])) - {"auto"}
    assert {entry.family for entry in CATALOG.values() if entry.kind == "onnx-swapper"} == set(FAMILIES)
    for family in FAMILIES.values():
        assert CATALOG[family.default_identity].kind == "onnx-recognizer"
        assert family.default_converter is None or CATALOG[family.default_converter].kind == "onnx-converter"
        assert family.template in TEMPLATES


def test_device_option_is_checked_whole() -> None:
    for device in ("auto", "cpu", "cuda", "cuda:1"):
        assert NeuralOptions(device=device).device == device
    for device in ("cudax", "cuda:x", "cuda:", "gpu", "cpu:0"):
        with pytest.raises(ValueError, match=f"device takes auto, cpu or cuda\\[:N\\], not '{device}'"):
            NeuralOptions(device=device)


def test_templates_match_facefusions_table() -> None:
    table = {
        "arcface_112_v1": [(0.35473214, 0.45658929), (0.64526786, 0.45658929), (0.5, 0.61154464),
                           (0.37913393, 0.776875), (0.62086607, 0.776875)],
        "arcface_112_v2": [(0.34191607, 0.46157411), (0.65653393, 0.45983393), (0.500225, 0.64050536),
                           (0.37097589, 0.82469196), (0.63151696, 0.82325089)],
        "arcface_128": [(0.36167656, 0.40387734), (0.63696719, 0.40235469), (0.50019687, 0.56044219),
                        (0.38710391, 0.72160547), (0.61507734, 0.72034453)],
    }  # fmt: skip
    for name, points in table.items():
        np.testing.assert_allclose(TEMPLATES[name].points, points, atol=1e-7)
    assert TEMPLATES["arcface"] is TEMPLATES["arcface_112_v2"]


def test_inswapper_by_crop_size_unit_range_and_emap_once(models, source, photo, target_face) -> None:
    swapper = create_swapper("onnx", options(models, "tiny_128.onnx"))
    assert (swapper.family.name, swapper.crop_size, swapper.template.name) == (
        "inswapper",
        128,
        "arcface_128",
    )

    vector = swapper.prepare_source(source)
    expected_vector = unit(raw_embedding(source)) @ EMAP  # normalised embedding · emap, not re-normalised
    np.testing.assert_allclose(vector, expected_vector, rtol=1e-4, atol=1e-5)
    assert np.ptp(expected_vector[:3]) > 0.05  # distinct offsets per channel: an R-B swap would show

    crop = target_crop(swapper, photo, target_face)
    expected = 255.0 * np.clip(crop.image / 255.0 + expected_vector[:3], 0.0, 1.0)
    np.testing.assert_allclose(swapped_crop(swapper, crop, vector), expected, atol=1.0)


def test_simswap_from_the_catalog_file_name_imagenet_pixels_normalised_converter(
    models, source, photo, target_face
) -> None:
    swapper = OnnxSwapper(
        options(models, "simswap_256.onnx", converter_weights=str(models / "converter.onnx"))
    )
    assert (swapper.family.name, swapper.crop_size, swapper.template.name) == (
        "simswap",
        256,
        "arcface_112_v1",
    )

    vector = swapper.prepare_source(source)
    expected_vector = unit(raw_embedding(source) @ CONVERTER_C + CONVERTER_D)
    np.testing.assert_allclose(vector, expected_vector, rtol=1e-4, atol=1e-6)

    crop = target_crop(swapper, photo, target_face)
    normalised = (crop.image / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    expected = 255.0 * np.clip(normalised + expected_vector[:3], 0.0, 1.0)  # no de-normalisation
    np.testing.assert_allclose(swapped_crop(swapper, crop, vector), expected, atol=1.0)


def test_ghost_by_family_option_signed_range_raw_converter_output(models, source, photo, target_face) -> None:
    swapper = OnnxSwapper(
        options(models, "tiny_256.onnx", family="ghost", converter_weights=str(models / "converter.onnx"))
    )
    assert (swapper.family.name, swapper.crop_size, swapper.template.name) == ("ghost", 256, "arcface_112_v1")

    vector = swapper.prepare_source(source)
    expected_vector = raw_embedding(source) @ CONVERTER_C + CONVERTER_D  # not normalised
    np.testing.assert_allclose(vector, expected_vector, rtol=1e-4, atol=1e-5)
    assert abs(np.linalg.norm(expected_vector) - 1.0) > 0.5 and np.ptp(expected_vector[:3]) > 0.05

    crop = target_crop(swapper, photo, target_face)
    signed = crop.image / 127.5 - 1.0
    expected = 255.0 * np.clip((signed + expected_vector[:3]) * 0.5 + 0.5, 0.0, 1.0)  # de-normalised
    np.testing.assert_allclose(swapped_crop(swapper, crop, vector), expected, atol=1.0)


def test_visomaster_ghost_takes_its_backbones_raw_embedding_without_converter(
    models, source, photo, target_face
) -> None:
    swapper = OnnxSwapper(options(models, "ghost_unet_1_block.onnx"))
    assert swapper.family.name == "ghost" and swapper.converter is None
    vector = swapper.prepare_source(source)
    np.testing.assert_allclose(vector, raw_embedding(source), rtol=1e-4, atol=1e-4)
    crop = target_crop(swapper, photo, target_face)
    expected = 255.0 * np.clip((crop.image / 127.5 - 1.0 + vector[:3]) * 0.5 + 0.5, 0.0, 1.0)
    np.testing.assert_allclose(swapped_crop(swapper, crop, vector), expected, atol=1.0)


def test_dynamic_batch_runs_once_fixed_batch_per_crop_fp16_fed_as_declared(
    models, photo, target_face, monkeypatch
) -> None:
    runs: list[tuple[int, str]] = []
    original_run = onnxruntime.InferenceSession.run

    def counting_run(session, names, feeds, *args, **kwargs):
        if "target" in feeds:
            runs.append((len(feeds["target"]), str(feeds["target"].dtype)))
        return original_run(session, names, feeds, *args, **kwargs)

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", counting_run)
    vector = np.zeros(512, np.float32)
    vector[:3] = (0.1, -0.2, 0.3)
    results = {}
    for weights in ("tiny_128.onnx", "tiny_128_fixed_batch.onnx", "tiny_128_fp16.onnx"):
        swapper = OnnxSwapper(options(models, weights))
        crops = [target_crop(swapper, photo, target_face)] * 3
        runs.clear()
        results[weights] = np.stack([result.image for result in swapper.swap(crops, vector)]).astype(int)
        results[weights + " runs"] = list(runs)
    assert results["tiny_128.onnx runs"] == [(3, "float32")]
    assert results["tiny_128_fixed_batch.onnx runs"] == [(1, "float32")] * 3
    assert results["tiny_128_fp16.onnx runs"] == [(3, "float16")]
    assert np.array_equal(results["tiny_128.onnx"], results["tiny_128_fixed_batch.onnx"])
    assert np.abs(results["tiny_128.onnx"] - results["tiny_128_fp16.onnx"]).max() <= 1


@pytest.mark.parametrize(
    ("weights", "changes", "error", "words"),
    [
        (None, {}, WeightsError, "needs a model: give --weights"),
        ("missing.onnx", {}, WeightsError, "does not exist"),
        ("not_a_model.onnx", {}, WeightsError, "is not a valid ONNX model"),
        ("renamed_io.onnx", {}, WeightsError, "needs inputs target[B,3,S,S] and source[B,512]"),
        ("tiny_128_no_emap.onnx", {}, WeightsError, "not the 512x512 emap"),
        (
            "tiny_128.onnx",
            {"identity_weights": "tiny_128.onnx"},
            WeightsError,
            "is not an ArcFace recogniser",
        ),
        (
            "tiny_256.onnx",
            {"family": "ghost", "converter_weights": "rec.onnx"},
            WeightsError,
            "is not an embedding converter",
        ),
        ("tiny_128.onnx", {"converter_weights": "converter.onnx"}, InputError, "take no --converter-weights"),
        ("tiny_256.onnx", {}, InputError, "--family (inswapper, simswap, ghost)"),
        ("tiny_128.onnx", {"precision": "fp16"}, InputError, "is an fp32 model"),
        ("tiny_128.onnx", {"precision": "bf16"}, InputError, "exported in; drop --precision bf16."),
        ("tiny_128.onnx", {"family": "ghost"}, WeightsError, "takes 128-px crops, but ghost models take 256"),
        ("ghost_1_256.onnx", {}, WeightsError, "run `faceforge weights fetch crossface-ghost`"),
    ],
)
def test_bad_weights_fail_with_one_sentence(
    models, tmp_path, monkeypatch, weights, changes, error, words
) -> None:
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(tmp_path / "empty-cache"))
    files = {key: str(models / value) for key, value in changes.items() if str(value).endswith(".onnx")}
    with pytest.raises(error) as raised:
        OnnxSwapper(
            NeuralOptions(
                **{
                    "weights": weights and str(models / weights),
                    "identity_weights": str(models / "rec.onnx"),
                    "device": "cpu",
                    **changes,
                    **files,
                }
            )
        )
    message = str(raised.value)
    assert words in message and "\n" not in message and message.endswith(".")


def test_catalog_name_of_another_kind_is_refused() -> None:
    with pytest.raises(
        WeightsError, match="ghost-unet-2blocks' are a ghost-generator, not an ONNX face swapper"
    ):
        OnnxSwapper(NeuralOptions(weights="ghost-unet-2blocks"))


def faceforge(*args: object) -> subprocess.CompletedProcess:
    command = Path(sys.executable).parent / "faceforge"
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run(
        [str(command), *map(str, args)], capture_output=True, text=True, timeout=180, env=env
    )


@pytest.mark.slow
def test_cli_swaps_the_face_and_leaves_the_background(models, testdata, tmp_path, target_face) -> None:
    output = tmp_path / "swapped.png"
    run = faceforge(
        "swap", testdata / SOURCES[0], testdata / TARGET, "-o", output, "--swapper", "onnx",
        "--weights", models / "tiny_128.onnx", "--identity-weights", models / "rec.onnx", "--device", "cpu",
        "--color", "none",  # Reinhard transfer toward the target's skin would undo the toy's colour shift
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    before, after = read_image(testdata / TARGET).astype(int), read_image(output).astype(int)
    x0, y0, x1, y1 = target_face.box.astype(int)
    inner = np.abs(after - before)[
        y0 + (y1 - y0) // 4 : y1 - (y1 - y0) // 4, x0 + (x1 - x0) // 4 : x1 - (x1 - x0) // 4
    ]
    assert inner.mean() > 10  # the toy shifts the face's colours by tens of levels
    pad_x, pad_y = x1 - x0, y1 - y0
    outside = np.ones(before.shape[:2], bool)
    outside[max(0, y0 - pad_y) : y1 + pad_y, max(0, x0 - pad_x) : x1 + pad_x] = False
    assert outside.sum() > 0.2 * outside.size and np.array_equal(after[outside], before[outside])


@pytest.mark.slow
def test_cli_bad_weights_exit_6_with_one_line(models, testdata, tmp_path) -> None:
    output = tmp_path / "swapped.png"
    run = faceforge(
        "swap", testdata / SOURCES[0], testdata / TARGET, "-o", output, "--swapper", "onnx",
        "--weights", models / "not_a_model.onnx", "--identity-weights", models / "rec.onnx",
    )  # fmt: skip
    lines = [line for line in run.stderr.splitlines() if "not a valid ONNX model" in line]
    assert run.returncode == 6 and len(lines) == 1 and "Traceback" not in run.stderr
    assert not output.exists()
