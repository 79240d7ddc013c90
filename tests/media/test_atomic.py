"""Temporary outputs: names bounded to the file-system limit, stale temporaries of dead runs removed,
those of live runs kept, folders replaced as a whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceforge.errors import OutputError
from faceforge.media.atomic import (
    NAME_MAX,
    TEMP_PREFIX,
    AtomicOutput,
    atomic_folder,
    atomic_output,
    find_temporaries,
    stale_temporaries,
    temp_name,
    temp_owner,
)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("name", ["a" * 251 + ".png", "é" * 120 + ".mp4", "x" * 255, "short.jpg"])
def test_temporary_names_fit_the_file_system(tmp_path: Path, name: str) -> None:
    temp = temp_name(name)
    assert len(temp.encode()) <= NAME_MAX and temp.startswith(f"{TEMP_PREFIX}{os.getpid()}-")
    assert temp_owner(temp) == os.getpid()
    if "." in name:
        assert temp.endswith(Path(name).suffix)
    with atomic_output(tmp_path / name) as path:
        path.write_bytes(b"data")
    assert (tmp_path / name).read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / f"{TEMP_PREFIX}{dead_pid()}-0123456789ab-killed.png"
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-0123456789ab-running.png"
    legacy = tmp_path / f"{TEMP_PREFIX}0123456789ab-old.png"  # no owner in the name: left to `clean`
    folder = tmp_path / f"{TEMP_PREFIX}{dead_pid()}-ba9876543210-report"
    for path in (dead, live, legacy):
        path.write_bytes(b"partial")
    folder.mkdir()
    (folder / "metrics.json").write_text("{}")
    assert stale_temporaries(tmp_path) == sorted([dead, folder])
    assert stale_temporaries(tmp_path, include_unowned=True) == sorted([dead, folder, legacy])
    AtomicOutput(tmp_path / "next.png").discard()  # a later run into the same folder
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, legacy.name])
    assert [(t.path, t.alive) for t in find_temporaries(tmp_path)] == sorted([(live, True), (legacy, False)])


def test_atomic_folder_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "report"
    with pytest.raises(KeyboardInterrupt), atomic_folder(target) as temp:
        (temp / "a.txt").write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic_folder(target) as temp:
        (temp / "a.txt").write_text("first")
    with pytest.raises(OutputError, match="already exists"), atomic_folder(target):
        pass
    with atomic_folder(target, overwrite=True) as temp:
        (temp / "b.txt").write_text("second")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_a_durable_output_is_complete_under_its_name_and_leaves_no_temporary(tmp_path: Path) -> None:
    from faceforge.media.atomic import atomic_output

    target = tmp_path / "checkpoint.json"
    with atomic_output(target, durable=True) as temp:
        temp.write_text("{}\n")
        assert not target.exists()
    assert target.read_text() == "{}\n" and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json"]
    with pytest.raises(KeyboardInterrupt), atomic_output(target, durable=True) as temp:
        temp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "{}\n" and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json"]
