"""Live mode with a video file standing in for the camera: every frame read is either swapped and
written or dropped and counted, the written file holds exactly the frames out, and a viewer that stops
the run stops it with the same accounting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceforge.errors import InputError
from faceforge.live.sinks import FileSink
from faceforge.live.sources import FrameSource
from faceforge.live.stream import Captured, LatestFrame, run_live
from faceforge.media.probe import probe_video
from faceforge.media.provenance import read_tag
from faceforge.pipeline.session import SwapSession

CLIP = "short_noaudio_small.mp4"  # 66 frames at 25 fps


@pytest.fixture(scope="module")
def session(testdata: Path):
    with SwapSession([[testdata / "face_frontal_b.jpg"]]) as instance:
        yield instance


def test_the_slot_keeps_the_newest_frame_and_says_what_it_replaced():
    slot = LatestFrame()
    frames = [Captured(i, float(i), np.zeros((2, 2, 3), np.uint8)) for i in range(3)]
    assert slot.put(frames[0]) is False
    assert slot.put(frames[1]) is True  # frame 0 was never taken: dropped
    assert slot.take() is frames[1]
    assert slot.put(frames[2]) is False
    slot.close()
    assert slot.take() is frames[2]  # what is left still comes out after close
    assert slot.take() is None


@pytest.mark.slow
def test_a_file_as_camera_every_frame_is_out_or_dropped(session: SwapSession, testdata: Path, tmp_path: Path):
    output = tmp_path / "live.mp4"
    source = FrameSource(str(testdata / CLIP))
    assert source.fps == pytest.approx(25.0)
    stats = run_live(session, source, FileSink(output, source.fps, session.tag(), 23, "ultrafast"))
    assert stats.frames_in == probe_video(testdata / CLIP).frame_count == 66
    assert stats.frames_out + stats.dropped == stats.frames_in
    assert stats.frames_out > 0 and stats.faces_swapped > 0
    assert len(stats.latencies_ms) == stats.frames_out and min(stats.latencies_ms) > 0
    written = probe_video(output)
    assert written.frame_count == stats.frames_out
    assert read_tag(output)["swapper"] == session.config.swapper


class StopAfter:
    """A viewer that closes its window after ``count`` frames (the FrameSink protocol, in memory)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.images: list[np.ndarray] = []
        self.closed = self.aborted = False

    @property
    def stopped(self) -> bool:
        return len(self.images) >= self.count

    def write(self, image: np.ndarray, time_ms: int) -> None:
        self.images.append(image)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


def test_a_viewer_that_stops_ends_the_run_with_the_same_accounting(session: SwapSession, testdata: Path):
    sink = StopAfter(5)
    stats = run_live(session, FrameSource(str(testdata / CLIP)), sink, meter=False)
    assert stats.frames_out == len(sink.images) == 5
    assert stats.frames_out + stats.dropped == stats.frames_in
    assert stats.frames_in < 66, "the reader stops with the viewer"
    assert sink.closed and not sink.aborted


def test_a_missing_input_is_one_sentence(tmp_path: Path):
    with pytest.raises(InputError, match="neither a camera number"):
        FrameSource(str(tmp_path / "nothing.mp4"))


@pytest.mark.slow
def test_the_command_prints_the_counts(testdata: Path, tmp_path: Path):
    output = tmp_path / "live.mp4"
    command = [sys.executable, "-m", "faceforge", "live", str(testdata / "face_frontal_b.jpg")]
    command += ["--input", str(testdata / CLIP), "--output", str(output)]
    done = subprocess.run(
        [*command, "--option", "video.preset=ultrafast"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "66 frames in" in done.stdout and "dropped; latency median" in done.stdout
    assert output.is_file()
    again = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 5 and "--overwrite" in again.stderr
