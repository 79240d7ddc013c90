"""One writer at a time: while another process holds a faceset's lock, a writer is refused at once with a
sentence naming the holder, and the faceset and the media are left as they were."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from faceset_cli import run_cli

from faceforge.facesets.lock import WriterLock


@pytest.mark.slow
def test_a_second_writer_is_refused_naming_the_holder(photo_faceset: Path, testdata: Path, unchanged) -> None:
    check = unchanged(photo_faceset)
    with WriterLock(photo_faceset, f"The faceset {photo_faceset}"):
        extract = run_cli("faces", "extract", testdata / "face_frontal_b.jpg", "-o", photo_faceset, "-q")
        sort = run_cli("faces", "sort", photo_faceset, "--by", "yaw", "-q")
    for result in (extract, sort):
        assert result.returncode == 5, result.stderr
        text = " ".join(result.stderr.split())
        assert "is being changed by another faceforge process" in text and f"pid {os.getpid()}" in text
        assert "Traceback" not in text
    check()
    after = run_cli("faces", "sort", photo_faceset, "--by", "yaw", "-q")  # the lock is free once released
    assert after.returncode == 0, after.stderr
