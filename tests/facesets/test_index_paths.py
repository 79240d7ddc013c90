"""An index is data: a row naming a file outside the faceset is refused before anything moves, and
``sort`` renames all crops or none, even when killed half-way."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from faceset_cli import run_cli

from faceforge.facesets.renames import JOURNAL_NAME
from faceforge.facesets.store import FacesetStore

REFUSED = r"is refused: the row of face '{key}' names a file outside its faces/ folder"


def _first_key(root: Path) -> str:
    db = sqlite3.connect(root / "faceset.db")
    key = db.execute("SELECT key FROM faces ORDER BY key LIMIT 1").fetchone()[0]
    db.close()
    return key


def _last_key(root: Path) -> str:
    db = sqlite3.connect(root / "faceset.db")
    key = db.execute("SELECT key FROM faces ORDER BY key DESC LIMIT 1").fetchone()[0]
    db.close()
    return key


def _point_row(root: Path, key: str, file: str) -> None:
    db = sqlite3.connect(root / "faceset.db")
    db.execute("UPDATE faces SET file = ? WHERE key = ?", (file, key))
    db.commit()
    db.close()


@pytest.fixture
def victim(tmp_path: Path, testdata: Path) -> Path:
    """A user's file outside the faceset, which a crafted index tries to reach."""
    outside = tmp_path / "outside"
    outside.mkdir()
    return Path(shutil.copy(testdata / "face_frontal_a.jpg", outside / f"{_KEY_LIKE}.jpg"))


_KEY_LIKE = "0001_000000_00"  # the victim's name even ends with a real key, as a crafted row would make it


@pytest.mark.parametrize("command", ["remove", "keep", "sort", "group"])
def test_a_row_pointing_outside_is_refused_and_nothing_moves(
    photo_faceset: Path, victim: Path, unchanged, command: str
) -> None:
    key = _first_key(photo_faceset)
    _point_row(photo_faceset, key, f"faces/../../outside/{victim.name}")
    check = unchanged(photo_faceset, victim.parent)
    args = {
        "remove": [key],
        "keep": [_last_key(photo_faceset)],
        "sort": ["--by", "yaw"],
        "group": ["--by", "yaw"],
    }[command]
    result = run_cli("faces", command, photo_faceset, *args)
    assert result.returncode == 2, result.stderr
    assert REFUSED.format(key=key).replace("\\", "") in " ".join(result.stderr.split())
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    check()
    assert not (photo_faceset / "removed").exists() or not any((photo_faceset / "removed").iterdir())


@pytest.mark.parametrize("crafted", ["/etc/hostname", "faceset.db", "removed/x_0001_000000_00.jpg"])
def test_absolute_and_non_crop_paths_are_refused(photo_faceset: Path, unchanged, crafted: str) -> None:
    key = _first_key(photo_faceset)
    _point_row(photo_faceset, key, crafted)
    check = unchanged(photo_faceset)
    result = run_cli("faces", "remove", photo_faceset, key)
    assert result.returncode == 2 and "names a file outside its faces/ folder" in result.stderr
    check()


def test_a_crop_that_is_a_link_out_of_the_faceset_is_refused(
    photo_faceset: Path, victim: Path, unchanged
) -> None:
    key = _first_key(photo_faceset)
    with FacesetStore.open(photo_faceset) as store:
        crop = store.path_of(next(f for f in store.faces() if f.key == key))
    crop.unlink()
    crop.symlink_to(victim)
    check = unchanged(photo_faceset, victim.parent)
    result = run_cli("faces", "remove", photo_faceset, key)
    assert result.returncode == 2 and REFUSED.format(key=key) in " ".join(result.stderr.split())
    check()
    assert crop.is_symlink() and victim.is_file()


def _files_and_rows(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    files = sorted(p.relative_to(root).as_posix() for p in (root / "faces").rglob("*") if p.is_file())
    db = sqlite3.connect(root / "faceset.db")
    rows = sorted(db.execute("SELECT key, file FROM faces").fetchall())
    db.close()
    return files, rows


def test_sort_renames_everything_in_one_step(photo_faceset: Path, testdata: Path, unchanged) -> None:
    check = unchanged(testdata)
    result = run_cli("faces", "sort", photo_faceset, "--by", "yaw", "-q")
    assert result.returncode == 0, result.stderr
    files, rows = _files_and_rows(photo_faceset)
    assert files == sorted(file for _, file in rows)
    assert all(Path(file).name.split("_", 1)[1].startswith(key) for key, file in rows)
    assert not (photo_faceset / JOURNAL_NAME).exists()
    check()


@pytest.mark.slow
def test_sort_refuses_to_overwrite_a_file_the_index_does_not_know(photo_faceset: Path, unchanged) -> None:
    key = _first_key(photo_faceset)
    (photo_faceset / "faces" / f"00000_{key}.jpg").write_bytes(b"a user's own file")
    (photo_faceset / "faces" / f"00001_{key}.jpg").write_bytes(b"a user's own file")
    before = _files_and_rows(photo_faceset)
    check = unchanged(photo_faceset)
    result = run_cli("faces", "sort", photo_faceset, "--by", "source")
    assert result.returncode == 2 and "Cannot sort:" in result.stderr
    assert "Nothing was renamed." in result.stderr
    assert _files_and_rows(photo_faceset) == before
    check()


_KILLED_SORT = """
import os, signal, sys
from pathlib import Path
from faceforge.facesets.curate import sort_faces
from faceforge.facesets.store import FacesetStore

calls, stop_after, real_replace, real_unlink = [0], int(sys.argv[2]), os.replace, os.unlink

def counted(real):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] > stop_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call

with FacesetStore.open(Path(sys.argv[1]), write=True) as store:
    faces = store.faces()
    os.replace, os.unlink = counted(real_replace), counted(real_unlink)
    sort_faces(store, "yaw")
"""


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["phase one", "phase two", "after the index commit"])
def test_a_sort_killed_mid_way_is_settled_when_the_faceset_is_next_opened(
    photo_faceset: Path, stage: str
) -> None:
    before = _files_and_rows(photo_faceset)
    count = len(before[1])
    # os.replace/os.unlink calls: 1 journal write, then count to temporaries, count to new names, 1 unlink
    stop_after = {
        "phase one": 1 + count // 2,
        "phase two": 1 + count + count // 2,
        "after the index commit": 1 + 2 * count,
    }[stage]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_SORT, str(photo_faceset), str(stop_after)],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (photo_faceset / JOURNAL_NAME).exists()
    result = run_cli("faces", "stats", photo_faceset, "--json")  # any command settles it, a reader too
    assert result.returncode == 0, result.stderr
    assert not (photo_faceset / JOURNAL_NAME).exists()
    files, rows = _files_and_rows(photo_faceset)
    assert files == sorted(file for _, file in rows)  # every row names its file, no temporary is left
    if stage == "after the index commit":
        assert all(Path(file).name[:5].isdigit() for _, file in rows)
    else:
        assert (files, rows) == before
