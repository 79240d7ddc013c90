"""The faceset index: one SQLite file (WAL) beside the aligned crops, with a versioned schema.

A faceset is a folder::

    FACESET/
      faceset.db      the index (plus faceset.db-wal / -shm while it is open)
      faces/          the aligned crops; any sub-folders (groups, a user's own) are fine
      removed/        crops taken out by ``remove``, ``keep`` and ``--dedupe`` (empty it when satisfied)

Every path in the index is relative to the folder (``/``-separated), so a faceset can be moved or copied
as a whole. Each crop's file name ends with its stable key (``SSSS_FFFFFF_NN``: source id, frame,
face index), which is how ``clean`` finds a crop a user moved or renamed. The schema is documented in
``docs/facesets.md``; :data:`SCHEMA_VERSION` and :data:`MIGRATIONS` bring older indexes forward.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from faceforge.errors import InputError, OutputError
from faceforge.facesets.lock import WriterLock
from faceforge.facesets.renames import recover_renames
from faceforge.facesets.rows import FACES_DIR, FaceRow, SourceRow, crop_path, key_of

INDEX_NAME = "faceset.db"
REMOVED_DIR = "removed"
FORMAT_NAME = "faceforge-faceset"
APPLICATION_ID = 0x46464653  # "FFFS" in PRAGMA application_id: marks the file as a faceforge faceset

_SCHEMA_V1 = """
CREATE TABLE faceset (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    size_bytes INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    frame_count INTEGER,
    fps REAL,
    options TEXT NOT NULL,
    next_frame INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    method TEXT NOT NULL
);
CREATE TABLE faces (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    file TEXT NOT NULL UNIQUE,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    frame INTEGER NOT NULL,
    face_index INTEGER NOT NULL,
    time REAL,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    score REAL NOT NULL,
    face_size REAL NOT NULL,
    landmarks BLOB NOT NULL,
    matrix BLOB NOT NULL,
    embedding BLOB,
    identity_frame INTEGER,
    mask BLOB NOT NULL,
    sharpness REAL NOT NULL,
    yaw REAL NOT NULL, pitch REAL NOT NULL, roll REAL NOT NULL,
    brightness REAL NOT NULL, colour_a REAL NOT NULL, colour_b REAL NOT NULL,
    group_id INTEGER REFERENCES groups(id) ON DELETE SET NULL,
    UNIQUE (source_id, frame, face_index)
);
CREATE INDEX faces_group ON faces(group_id);
CREATE TABLE labels (
    face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (face_id, label)
);
"""


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, and a migration must stay inside its transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_to_1(db: sqlite3.Connection) -> None:
    _run_script(db, _SCHEMA_V1)


#: ``MIGRATIONS[n]`` turns a version ``n - 1`` index into version ``n`` (version 0: an empty file). Each
#: runs in the same transaction as the ``schema_version`` update, so an interrupted migration leaves the
#: index at its old version. Add a function and bump :data:`SCHEMA_VERSION` to change the schema.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_to_1}
SCHEMA_VERSION = max(MIGRATIONS)

_FACE_COLUMNS = (
    "key, file, source_id, frame, face_index, time, x0, y0, x1, y1, score, face_size, landmarks, matrix, "
    "embedding, identity_frame, mask, sharpness, yaw, pitch, roll, brightness, colour_a, colour_b, group_id"
)


class FacesetStore:
    """An open faceset: the folder, its index connection and the queries the faceset stages need.

    Use :meth:`open` for an existing faceset and :meth:`create` (or ``open(create=True)``) for a new one.
    Not thread-safe. A store opened to write holds the faceset's writer lock (:mod:`.lock`) until
    :meth:`close`, so a second writer is refused at once with a sentence naming the first.
    """

    def __init__(self, root: Path, db: sqlite3.Connection, lock: WriterLock | None = None) -> None:
        self.root = root
        self.db = db
        self.lock = lock

    # -- opening ---------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path, create: bool = False, info: dict[str, str] | None = None, write: bool = False
    ) -> FacesetStore:
        """Open the faceset at ``path`` (its folder, or its ``faceset.db``). With ``create``, a missing or
        empty folder becomes a new faceset whose ``faceset`` table holds ``info``. With ``write`` (implied by
        ``create``) the writer lock is taken. Renames a killed ``sort`` left half-done are settled first."""
        path = Path(path)
        root = path.parent if path.name == INDEX_NAME or path.suffix == ".db" else path
        index = path if root is not path else root / INDEX_NAME
        if not index.exists():
            if not create:
                if root.is_dir():
                    raise InputError(f"{root} is not a faceset: it has no {INDEX_NAME}.")
                raise InputError(f"The faceset {root} does not exist.")
            if root.exists() and not root.is_dir():
                raise OutputError(f"Cannot create the faceset {root}: a file with that name exists.")
            if root.is_dir() and any(p for p in root.iterdir() if not p.name.startswith(".")):
                raise OutputError(
                    f"Cannot create a faceset in {root}: the folder is not empty and holds no {INDEX_NAME}."
                )
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"Cannot create the faceset {root}: {exc.strerror or exc}.") from exc
        elif index.is_dir():
            raise InputError(f"{index} is a folder, not a faceset index.")
        lock = WriterLock(root, f"The faceset {root}").acquire() if write or create else None
        try:
            new = create and (not index.exists() or index.stat().st_size == 0)
            db = _connect(index)
            store = cls(root, db, lock)
            try:
                store._check_and_migrate(new=new, info=info or {})
                store._settle_interrupted_renames()
            except BaseException:
                db.close()
                raise
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        (root / FACES_DIR).mkdir(exist_ok=True)
        return store

    def _settle_interrupted_renames(self) -> None:
        """A reader settles them only when no writer is at work (it would be mid-rename otherwise)."""
        if self.lock is not None:
            recover_renames(self.root, self.db)
            return
        try:
            lock = WriterLock(self.root, f"The faceset {self.root}").acquire()
        except OutputError:
            return
        try:
            recover_renames(self.root, self.db)
        finally:
            lock.release()

    def _check_and_migrate(self, new: bool, info: dict[str, str]) -> None:
        index = self.root / INDEX_NAME
        foreign = f"{index} is an SQLite database but not a faceforge faceset index."
        try:
            app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if new and not tables:
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                version = 0
            else:
                if app_id != APPLICATION_ID or "schema_version" not in tables:
                    raise InputError(foreign)
                row = self.db.execute("SELECT version FROM schema_version").fetchone()
                if row is None:
                    raise InputError(f"{index} is damaged: its schema_version table is empty.")
                version = int(row[0])
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"{index} was written by a newer faceforge (schema {version}; this one reads up to "
                    f"{SCHEMA_VERSION}). Upgrade faceforge to use it."
                )
            if version < SCHEMA_VERSION:
                with self.transaction() as db:
                    if version == 0:
                        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                        db.execute("INSERT INTO schema_version VALUES (0)")
                    for step in range(version + 1, SCHEMA_VERSION + 1):
                        MIGRATIONS[step](db)
                    db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
                    if version == 0:
                        items = {"format": FORMAT_NAME, **info}
                        db.executemany("INSERT INTO faceset VALUES (?, ?)", sorted(items.items()))
            fmt = self.db.execute("SELECT value FROM faceset WHERE key = 'format'").fetchone()
            if fmt is None or fmt[0] != FORMAT_NAME:
                raise InputError(foreign)
        except sqlite3.DatabaseError as exc:
            raise InputError(
                f"{index} is not a readable faceset index (not an SQLite database, or corrupt): {exc}."
            ) from exc

    def close(self) -> None:
        self.db.close()
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> FacesetStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- faceset-wide settings -------------------------------------------------------------------------

    @property
    def info(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM faceset").fetchall())

    # -- sources ---------------------------------------------------------------------------------------

    def source(self, path: str) -> SourceRow | None:
        row = self.db.execute("SELECT * FROM sources WHERE path = ?", (path,)).fetchone()
        return None if row is None else _source(row)

    def sources(self) -> list[SourceRow]:
        return [_source(r) for r in self.db.execute("SELECT * FROM sources ORDER BY id")]

    def add_source(self, **fields: object) -> SourceRow:
        fields = {**fields, "options": json.dumps(fields["options"], sort_keys=True)}
        names = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        with self.transaction() as db:
            db.execute(f"INSERT INTO sources ({names}) VALUES ({marks})", tuple(fields.values()))
        found = self.source(str(fields["path"]))
        if found is None:
            raise RuntimeError(f"The source row of {fields['path']} was not found right after its insert.")
        return found

    def commit_faces(self, batches: Iterable[tuple[int, list[FaceRow], int, bool]]) -> None:
        """Insert faces and record each source's progress (``source_id, faces, next_frame, done``) in one
        transaction: after a kill, either a batch's faces and its progress are both there or neither is."""
        marks = ", ".join("?" for _ in _FACE_COLUMNS.split(", "))
        with self.transaction() as db:
            for source_id, faces, next_frame, done in batches:
                db.executemany(
                    f"INSERT INTO faces ({_FACE_COLUMNS}) VALUES ({marks})", [f.values() for f in faces]
                )
                db.execute(
                    "UPDATE sources SET next_frame = ?, done = ? WHERE id = ?",
                    (next_frame, int(done), source_id),
                )

    # -- faces -----------------------------------------------------------------------------------------

    def faces(self, where: str = "", params: tuple = ()) -> list[FaceRow]:
        sql = (
            "SELECT * FROM faces"
            + (f" WHERE {where}" if where else "")
            + " ORDER BY source_id, frame, face_index"
        )
        return [FaceRow.from_row(r) for r in self.db.execute(sql, params)]

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM faces").fetchone()[0])

    def groups(self) -> dict[int, str]:
        return dict(self.db.execute("SELECT id, name FROM groups ORDER BY id").fetchall())

    def path_of(self, face: FaceRow) -> Path:
        """The crop file of ``face``; InputError (nothing done) when its row names a file outside
        ``faces/`` (links followed) or one whose name does not end with the face's key."""
        path = crop_path(self.root, face.file)
        if path is None or key_of(face.file) != face.key:
            where = "a file outside its faces/ folder" if path is None else "a file not named by its key"
            raise InputError(
                f"The faceset index {self.root / INDEX_NAME} is refused: the row of face {face.key!r} names "
                f"{where} ({face.file!r}), so nothing was changed; it was damaged or crafted by hand."
            )
        return path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _connect(index: Path) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(index, isolation_level=None, timeout=30.0)
    except sqlite3.Error as exc:
        raise InputError(f"Cannot open the faceset index {index}: {exc}.") from exc
    db.row_factory = sqlite3.Row
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise InputError(
            f"{index} is not a readable faceset index (not an SQLite database, or corrupt): {exc}."
        ) from exc
    return db


def _source(row: sqlite3.Row) -> SourceRow:
    return SourceRow(
        id=row["id"],
        path=row["path"],
        name=row["name"],
        kind=row["kind"],
        size_bytes=row["size_bytes"],
        mtime_ns=row["mtime_ns"],
        frame_count=row["frame_count"],
        options=json.loads(row["options"]),
        next_frame=row["next_frame"],
        done=bool(row["done"]),
    )
