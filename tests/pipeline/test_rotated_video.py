"""Phone videos store sideways pixels plus a display rotation: faceforge works on the upright picture."""

from pathlib import Path

import av
import numpy as np
import pytest

from faceforge.api import swap_video
from faceforge.media.video import probe_video, read_frames


@pytest.fixture(scope="module")
def upright_and_rotated(testdata: Path, tmp_path_factory: pytest.TempPathFactory):
    """The first 12 frames of talking_audio_3s, and a file storing them turned a quarter counter-clockwise
    with a display matrix that turns them back (as a phone held upright records)."""
    with av.open(str(testdata / "talking_audio_3s.mp4")) as source:
        frames = [
            f.to_ndarray(format="rgb24") for _, f in zip(range(12), source.decode(video=0), strict=False)
        ]
    path = tmp_path_factory.mktemp("rotated") / "rotated.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"crf": "12", "preset": "ultrafast"})
        height, width = frames[0].shape[:2]
        stream.width, stream.height, stream.pix_fmt = height, width, "yuv420p"
        stream.set_display_rotation(-90)
        for frame in frames:
            stored = np.ascontiguousarray(np.rot90(frame, k=1))
            out.mux(stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
        out.mux(stream.encode())
    return frames, path


def test_rotated_video_is_read_upright(upright_and_rotated) -> None:
    frames, path = upright_and_rotated
    info = probe_video(path)
    assert (info.width, info.height) == (frames[0].shape[1], frames[0].shape[0])
    decoded = [f.image for f in read_frames(path)]
    assert len(decoded) == len(frames)
    for got, want in zip(decoded, frames, strict=True):
        assert got.shape == want.shape
        assert np.abs(got.astype(int) - want).mean() < 4  # codec loss only: not turned, not mirrored


def test_faces_in_a_rotated_video_are_swapped_and_written_upright(
    upright_and_rotated, testdata, tmp_path
) -> None:
    frames, path = upright_and_rotated
    output = tmp_path / "out.mp4"
    report = swap_video(testdata / "face_frontal_a.jpg", path, output)
    # Frames 0-2 are a wide shot with a small face (see SOURCES.md); the close-up follows.
    assert report.frames == len(frames) and report.frames_swapped >= len(frames) - 3
    info = probe_video(output)
    assert (info.width, info.height) == (frames[0].shape[1], frames[0].shape[0])
    with av.open(str(output)) as written:
        assert next(written.decode(video=0)).rotation == 0
