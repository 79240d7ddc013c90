"""A download killed with SIGKILL or failing midway leaves nothing under the final name, only the project's
owner-stamped temporary (media/atomic.py): a later fetch takes it over and resumes, ``faceforge clean``
removes it, and a temporary of a fetch still running is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceforge.cli.main import app
from faceforge.errors import WeightsError
from faceforge.media.atomic import find_temporaries
from faceforge.weights.download import fetch

# Fetches the served file; after the first chunk it creates the marker and waits there to be killed.
_FETCH_UNTIL_KILLED = """
import sys, time
from pathlib import Path
from faceforge.weights.catalog import WeightsEntry
from faceforge.weights.download import fetch

url, cache, marker = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
entry = WeightsEntry(name="test-ghost", filename="G_test.pth", urls=(url,), sha256=None,
                     licence="Non-Commercial (test)", kind="ghost-generator")

def progress(done, total):
    marker.touch()
    while True:
        time.sleep(1)

fetch(entry, cache, progress=progress)
"""


def _killed_fetch(url: str, cache: Path, marker: Path) -> int:
    """Start a fetch in another process, SIGKILL it once it has written data; its pid."""
    child = subprocess.Popen([sys.executable, "-c", _FETCH_UNTIL_KILLED, url, str(cache), str(marker)])
    try:
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the fetch ended (exit {child.returncode}) before writing anything")
            time.sleep(0.01)  # polls an observable state (the marker, the child's exit), waits for no time
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    return child.pid


def test_a_killed_download_leaves_nothing_under_the_final_name_and_is_resumed(
    tmp_path: Path, server, local_entry
) -> None:
    folder = tmp_path / "test-ghost"
    pid = _killed_fetch(server.url, tmp_path, tmp_path / "started")

    assert not (folder / "G_test.pth").exists()
    (leftover,) = find_temporaries(folder)
    assert leftover.owner == pid and not leftover.alive
    kept = leftover.path.stat().st_size
    assert 0 < kept < len(server.behaviour.payload)

    record = fetch(local_entry(server.sha256), tmp_path)
    assert server.behaviour.ranges[-1] == f"bytes={kept}-"  # the later run took the temporary over
    assert record.size == len(server.behaviour.payload)
    assert (folder / "G_test.pth").read_bytes() == server.behaviour.payload
    assert sorted(p.name for p in folder.iterdir()) == ["G_test.pth"]


def test_faceforge_clean_removes_a_failed_download_but_not_a_running_one(
    tmp_path: Path, server, local_entry
) -> None:
    folder = tmp_path / "test-ghost"
    server.behaviour.cut_after = 1_000_000
    with pytest.raises(WeightsError, match="run the same command to resume"):
        fetch(local_entry(server.sha256), tmp_path)
    assert not (folder / "G_test.pth").exists()
    (own,) = find_temporaries(folder)  # this process is alive: clean keeps it
    assert own.alive

    dead_pid = _killed_fetch(server.url, tmp_path / "other-cache", tmp_path / "started")
    (dead,) = find_temporaries(tmp_path / "other-cache" / "test-ghost")
    assert dead.owner == dead_pid

    result = CliRunner().invoke(app, ["clean", str(folder), str(dead.path.parent)])
    assert result.exit_code == 0, result.output
    assert own.path.exists() and not dead.path.exists()
    assert sorted(p.name for p in folder.iterdir()) == [own.path.name]
