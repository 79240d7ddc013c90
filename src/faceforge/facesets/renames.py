"""Renaming many crops as one step: all of them or none, even when the process is killed half-way.

``sort`` renames every crop of a faceset. Done one by one, a failure or a kill half-way leaves some files
and rows renamed and others not. :func:`rename_crops` instead

1. writes the whole plan to a journal (``FACESET/.faceforge-renames.json``, atomically),
2. moves every crop to a temporary name (``.faceforge-renaming-KEY.ext`` beside its new name), then every
   temporary to its new name, so no rename can land on a file another rename has yet to move away,
3. updates every index row in one transaction, and deletes the journal.

An error or Ctrl-C puts every file back under its old name before it is reported. After a kill, the
journal is still there and :func:`recover_renames` (run when the faceset is next opened) settles it: if the
index transaction committed, the files are moved on to their new names, else back to their old ones. Every
name involved ends with its face's key, so a file's place in the plan is never ambiguous.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

from faceforge.errors import InputError
from faceforge.facesets.rows import crop_path
from faceforge.media.atomic import atomic_output

JOURNAL_NAME = ".faceforge-renames.json"
JOURNAL_FORMAT = "faceforge-renames"
TEMP_PREFIX = ".faceforge-renaming-"
_JOURNAL_LIMIT = 256 << 20  # a journal of a million crops is ~150 MB; anything larger is not ours

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Rename:
    """One crop's move, as paths relative to the faceset folder."""

    face_id: int
    old: str
    temp: str
    new: str


def plan_rename(face_id: int, old: str, new: str) -> Rename:
    """The rename of one crop, with its temporary name beside the new one."""
    target = Path(new)
    return Rename(face_id, old, target.with_name(TEMP_PREFIX + target.name).as_posix(), new)


def _paths(root: Path, rename: Rename) -> tuple[Path, Path, Path]:
    places = [crop_path(root, name) for name in (rename.old, rename.temp, rename.new)]
    if any(place is None for place in places):
        raise InputError(
            f"The rename journal {root / JOURNAL_NAME} names a file outside {root / 'faces'}; it was not "
            "followed. Delete it if you did not write it, then run `faceforge faces clean`."
        )
    return places[0], places[1], places[2]  # type: ignore[return-value]


def _move_to(root: Path, rename: Rename, where: str) -> None:
    """Put the crop of ``rename`` at ``where`` (its old or new name), wherever in the plan it is now."""
    old, temp, new = _paths(root, rename)
    target = old if where == "old" else new
    for place in (temp, new if where == "old" else old):
        if place.exists() and not target.exists():
            os.replace(place, target)


def _write_journal(root: Path, renames: Sequence[Rename]) -> None:
    data = {"format": JOURNAL_FORMAT, "version": 1, "renames": [astuple(r) for r in renames]}
    with atomic_output(root / JOURNAL_NAME) as temp:
        temp.write_text(json.dumps(data), encoding="utf-8")


def _read_journal(root: Path) -> list[Rename]:
    path = root / JOURNAL_NAME
    try:
        if path.stat().st_size > _JOURNAL_LIMIT:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["format"] != JOURNAL_FORMAT or data["version"] != 1:
            raise ValueError("format")
        return [Rename(int(i), str(old), str(temp), str(new)) for i, old, temp, new in data["renames"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise InputError(
            f"The rename journal {path} of an interrupted sort is not readable; delete it, then run "
            "`faceforge faces clean` to find every crop again."
        ) from None


def rename_crops(
    root: Path, db: sqlite3.Connection, renames: Sequence[Rename], progress: Progress | None = None
) -> None:
    """Apply ``renames`` to the files and the index of the faceset at ``root`` as one step (see the module
    docstring). The caller holds the faceset's writer lock."""
    if not renames:
        return
    _write_journal(root, renames)
    try:
        for rename in renames:
            old, temp, _ = _paths(root, rename)
            os.replace(old, temp)
        for done, rename in enumerate(renames, 1):
            _, temp, new = _paths(root, rename)
            os.replace(temp, new)
            if progress is not None:
                progress(done, len(renames))
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("UPDATE faces SET file = ? WHERE id = ?", [(r.new, r.face_id) for r in renames])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    except BaseException:
        for rename in renames:
            _move_to(root, rename, "old")
        (root / JOURNAL_NAME).unlink(missing_ok=True)
        raise
    (root / JOURNAL_NAME).unlink()


def recover_renames(root: Path, db: sqlite3.Connection) -> bool:
    """Settle the renames a killed process left half-done; True if there were any. The caller holds the
    faceset's writer lock."""
    if not (root / JOURNAL_NAME).exists():
        return False
    renames = _read_journal(root)
    stored = dict(db.execute("SELECT id, file FROM faces").fetchall())
    committed = any(stored.get(r.face_id) == r.new for r in renames if r.new != r.old)
    for rename in renames:
        _move_to(root, rename, "new" if committed else "old")
    (root / JOURNAL_NAME).unlink()
    return True
