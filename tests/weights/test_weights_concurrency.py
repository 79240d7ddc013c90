"""Two processes at once: a second fetch of the same name is refused naming the first (they would share
one temporary), and manifest updates take turns so no process loses another's record."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceforge.errors import OutputError
from faceforge.outputs import OutputLock
from faceforge.weights.cache import read_manifest
from faceforge.weights.download import fetch


def test_a_second_fetch_of_one_name_is_refused(tmp_path: Path, server, local_entry) -> None:
    entry = local_entry(server.sha256)
    final = tmp_path / entry.name / entry.filename
    final.parent.mkdir()
    with OutputLock(final), pytest.raises(OutputError) as refused:
        fetch(entry, tmp_path)
    assert f"being written by another faceforge process (pid {os.getpid()}" in str(refused.value)
    assert read_manifest(tmp_path) == {} and not final.exists()
    record = fetch(entry, tmp_path)  # free once the first is done
    assert record.sha256 == server.sha256 and final.is_file()
    assert sorted(p.name for p in final.parent.iterdir()) == [entry.filename]  # no lock file left


_RECORDER = """
import sys
from pathlib import Path
from faceforge.weights.cache import CachedFile, record_file
cache, tag = Path(sys.argv[1]), sys.argv[2]
for i in range(25):
    record_file(cache, f"{tag}-{i}", CachedFile(f"{tag}-{i}/w.pth", "0" * 64, 1, "test", "now"))
"""


def test_concurrent_manifest_updates_lose_no_record(tmp_path: Path) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", _RECORDER, str(tmp_path), tag]) for tag in ("a", "b", "c")
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    assert set(read_manifest(tmp_path)) == {f"{tag}-{i}" for tag in "abc" for i in range(25)}
