"""``faces extract`` of a folder with bad files: each bad file is skipped and listed, the others are
extracted, the exit code is 9 (some inputs failed), a rerun retries only the skipped ones, and the media
are left byte-identical. A truncated video is extracted as far as it goes, with a warning."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from faceset_cli import run_cli

from faceforge.facesets.store import FacesetStore


def _one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
def test_one_bad_file_does_not_abort_the_extraction(testdata: Path, tmp_path: Path, unchanged) -> None:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(testdata / "face_frontal_a.jpg", media / "a_good.jpg")
    (media / "b_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 20)
    (media / "c_corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 garbage" * 50)
    data = (testdata / "talking_audio_3s.mp4").read_bytes()
    (media / "d_cut.mp4").write_bytes(data[: len(data) * 6 // 10])  # index at the start, cut at 60 %
    check = unchanged(media)
    faceset = tmp_path / "set"

    first = run_cli("faces", "extract", media, "-o", faceset, "--every", "10", "--size", "96", "-q")
    text = _one_line(first.stderr)
    assert first.returncode == 9, first.stderr
    assert "Traceback" not in text and "internal error" not in text
    assert f"skipped {media / 'b_corrupt.jpg'}:" in text and f"skipped {media / 'c_corrupt.mp4'}:" in text
    assert f"warning: {media / 'd_cut.mp4'} is truncated: its header declares 90 frames" in text
    assert "error: 2 of 4 inputs could not be read and were skipped (listed above)" in text
    with FacesetStore.open(faceset) as store:
        done = {Path(s.path).name: s.done for s in store.sources()}
        assert store.count() >= 2  # the photo's face and the cut video's
    # the corrupt photo's source is not marked done; the unreadable video got no source row at all
    assert done == {"a_good.jpg": True, "b_corrupt.jpg": False, "d_cut.mp4": True}

    again = run_cli("faces", "extract", media, "-o", faceset, "--every", "10", "--size", "96", "-q")
    assert again.returncode == 9, again.stderr
    assert "0 faces added from 0 sources (2 already done)" in _one_line(again.stderr)
    check()


@pytest.mark.slow
def test_every_input_bad_is_an_input_error(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = run_cli("faces", "extract", media, "-o", tmp_path / "set", "-q")
    assert result.returncode == 2, result.stderr
    assert "error: None of the 1 inputs could be read (listed above); nothing was added." in _one_line(
        result.stderr
    )
