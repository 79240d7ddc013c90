"""Frame enhancers: a tiled upscale is the whole-frame upscale (no seams, bounded tiles), the blend mixes
it with bicubic up-scaling, and a swap with a frame enhancer writes larger images and videos whose tag
names every step in order."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from enhancer_toys import face_enhancer_model, shifted, upscaler_model

from faceforge.config import SwapConfig
from faceforge.enhance.frame import FrameEnhancer, OnnxUpscaler
from faceforge.enhance.options import EnhanceOptions
from faceforge.media.provenance import read_tag
from faceforge.media.video import probe_video
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.video import swap_video_file


def frame(height: int = 70, width: int = 50) -> np.ndarray:
    return np.random.default_rng(height * width).integers(0, 256, (height, width, 3)).astype(np.uint8)


def test_a_pointwise_model_upscales_exactly_tile_by_tile(tmp_path: Path) -> None:
    upscaler = OnnxUpscaler(str(upscaler_model(tmp_path / "x2.onnx", 2)), tile=32, device="cpu")
    assert upscaler.scale == 2
    image = frame()
    expected = np.repeat(np.repeat(255 - shifted(image), 2, axis=0), 2, axis=1)
    np.testing.assert_array_equal(upscaler.upscale(image), expected)


def test_tiles_meet_without_seams_for_a_model_with_spatial_context(tmp_path: Path) -> None:
    model = str(upscaler_model(tmp_path / "blur_x4.onnx", 4, blur=True))
    tiled = OnnxUpscaler(model, tile=32, device="cpu").upscale(frame())
    whole = OnnxUpscaler(model, tile=512, device="cpu").upscale(frame())  # one tile
    assert tiled.shape == (280, 200, 3)
    np.testing.assert_array_equal(tiled, whole)


def test_a_model_with_a_fixed_tile_side_is_fed_that_side(tmp_path: Path) -> None:
    model = str(upscaler_model(tmp_path / "fixed.onnx", 2, side=48))
    upscaler = OnnxUpscaler(model, device="cpu")
    assert upscaler.window == 48
    image = frame()
    expected = np.repeat(np.repeat(255 - shifted(image), 2, axis=0), 2, axis=1)
    np.testing.assert_array_equal(upscaler.upscale(image), expected)


def test_the_blend_mixes_with_bicubic_upscaling(tmp_path: Path) -> None:
    upscaler = OnnxUpscaler(str(upscaler_model(tmp_path / "x2.onnx", 2)), device="cpu")
    image = frame()
    [half] = FrameEnhancer("x2", upscaler, 0.5).process([image])
    full = upscaler.upscale(image).astype(float)
    plain = cv2.resize(image, (100, 140), interpolation=cv2.INTER_CUBIC).astype(float)
    assert np.abs(half - (full + plain) / 2).max() <= 1.0


@pytest.fixture(scope="module")
def toys(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("toys")
    face = str(face_enhancer_model(folder / "face.onnx", 512, gain=1.0))
    return face, str(upscaler_model(folder / "x2.onnx", 2))


def config(face: str, upscaler: str) -> SwapConfig:
    steps = (f"face={face}:0.5", f"frame={upscaler}:1")
    return SwapConfig(
        watermark=True, enhance=EnhanceOptions(steps=steps, identity_threshold=0.0, device="cpu")
    )


def test_an_image_swap_runs_face_then_frame_steps_then_the_watermark(testdata: Path, photo, toys) -> None:
    face, upscaler = toys
    target = photo("face_frontal_a.jpg")
    with SwapSession([[testdata / "face_frontal_b.jpg"]], config(face, upscaler)) as session:
        rendered = session.render_image(target)
        tag = session.tag(rendered)
    assert rendered.faces_swapped == 1
    assert rendered.image.shape == (target.shape[0] * 2, target.shape[1] * 2, 3)
    assert tag["processors"] == [f"face={face}:0.5", f"frame={upscaler}:1", "watermark"]


@pytest.mark.slow
def test_a_video_swap_with_a_frame_enhancer_writes_the_larger_frames(
    testdata: Path, tmp_path: Path, toys
) -> None:
    face, upscaler = toys
    target = testdata / "short_noaudio_small.mp4"
    output = tmp_path / "out.mp4"
    with SwapSession([[testdata / "face_frontal_b.jpg"]], config(face, upscaler)) as session:
        report = swap_video_file(session, target, output)
    before, after = probe_video(target), probe_video(output)
    assert (after.width, after.height) == (before.width * 2, before.height * 2)
    assert after.frame_count == before.frame_count == report.frames
    assert report.faces_swapped > 0
    assert read_tag(output)["processors"] == [f"face={face}:0.5", f"frame={upscaler}:1", "watermark"]
