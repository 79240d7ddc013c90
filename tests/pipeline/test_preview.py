"""The preview of one video frame is that frame of the video run, bit for bit, before encoding; and a
swapper and a processor registered from outside the package through the public API run in a swap."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from faceforge.config import SwapConfig
from faceforge.media.provenance import read_tag
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.video import swap_video_file
from faceforge.processors.registry import registered_processor
from faceforge.swappers.mesh import MeshSwapper
from faceforge.swappers.registry import registered_swapper

SOURCE = "face_frontal_b.jpg"
CLIP = "short_noaudio_small.mp4"
FRAME = 23  # not a key frame (detect_every 10) and not a batch's first frame (batch 4): followed, smoothed


class Recorder:
    """A frame processor that keeps a copy of every frame it is given (the chain's last stage)."""

    name = "recorder"

    def __init__(self, options: object) -> None:
        self.frames: list[np.ndarray] = []

    def process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.frames.extend(frame.copy() for frame in frames)
        return list(frames)

    def close(self) -> None:
        self.frames.clear()


class PluginMesh(MeshSwapper):
    name = "plugin-mesh"


@pytest.mark.slow
def test_preview_frame_is_the_video_frame(testdata: Path, tmp_path: Path) -> None:
    recorders: list[Recorder] = []

    def make(options: object) -> Recorder:
        recorders.append(Recorder(options))
        return recorders[-1]

    config = SwapConfig(swapper="plugin-mesh", processors=("recorder",))
    with (
        registered_processor("recorder", make, "frame"),
        registered_swapper("plugin-mesh", lambda options: PluginMesh()),
        SwapSession([[testdata / SOURCE]], config) as session,
    ):
        (recorder,) = recorders
        report = swap_video_file(session, testdata / CLIP, tmp_path / "out.mp4")
        video_frame = recorder.frames[FRAME]
        assert len(recorder.frames) == report.frames == 66
        preview = session.preview_frame(testdata / CLIP, FRAME)
    assert preview.faces_swapped == 1
    np.testing.assert_array_equal(preview.image, video_frame)
    tag = read_tag(tmp_path / "out.mp4")
    assert tag is not None and tag["swapper"] == "plugin-mesh" and tag["processors"] == ["recorder"]
