"""The job record of a batch: one SQLite file (WAL mode) saying which tasks are done, which failed and why.

Only the driver (the ``faceforge batch`` process) writes it, after a worker has returned a task's result
and the task's output is in place, so a ``done`` row always names a complete output. A rerun of the same
command skips the done tasks and runs the rest; a rerun with other settings is refused, because its
outputs would not belong to the same job.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceforge.errors import InputError, OutputError

JOB_NAME = ".faceforge-job.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS job (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('done', 'failed')),
    error TEXT,
    worker TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    seconds REAL,
    detail TEXT,
    finished REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class TaskRow:
    key: str
    state: str
    error: str | None
    worker: str | None  # host:pid of the worker process that ran it
    attempts: int
    seconds: float | None
    detail: dict[str, Any]


class JobRecord:
    """An open job record. ``settings`` (JSON-able) must equal those the job was started with."""

    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise OutputError(f"Cannot open the job record {self.path}: {exc}.") from exc
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
            self._check_settings(settings)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise InputError(f"{self.path} is not a faceforge job record ({exc}).") from exc
        except BaseException:
            self.db.close()
            raise

    def _check_settings(self, settings: dict[str, Any]) -> None:
        wanted = json.dumps(settings, sort_keys=True)
        row = self.db.execute("SELECT value FROM job WHERE key = 'settings'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO job (key, value) VALUES ('settings', ?)", (wanted,))
            return
        if row[0] != wanted:
            stored = json.loads(row[0])
            changed = sorted(k for k in {*stored, *settings} if stored.get(k) != settings.get(k))
            raise InputError(
                f"The job record {self.path} belongs to a job with other settings ({', '.join(changed)}); "
                "rerun with the same settings, or give another --job file."
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> JobRecord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM tasks WHERE state = 'done'")}

    def task(self, key: str) -> TaskRow | None:
        row = self.db.execute(
            "SELECT key, state, error, worker, attempts, seconds, detail FROM tasks WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else _task_row(row)

    def tasks(self) -> list[TaskRow]:
        return read_tasks(self.path)

    def _write(
        self,
        key: str,
        state: str,
        error: str | None,
        worker: str | None,
        seconds: float | None,
        detail: dict[str, Any] | None,
    ) -> None:
        self.db.execute(
            "INSERT INTO tasks (key, state, error, worker, seconds, detail, finished) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, "
            "error = excluded.error, worker = excluded.worker, seconds = excluded.seconds, "
            "detail = excluded.detail, finished = excluded.finished, attempts = tasks.attempts + 1",
            (key, state, error, worker, seconds, json.dumps(detail or {}), time.time()),
        )

    def mark_done(
        self, key: str, worker: str | None, seconds: float | None, detail: dict[str, Any] | None = None
    ) -> None:
        """Record ``key`` as done; call only once its output is complete and in place."""
        self._write(key, "done", None, worker, seconds, detail)

    def mark_failed(self, key: str, error: str, worker: str | None = None) -> None:
        self._write(key, "failed", error, worker, None, None)


def read_tasks(path: Path) -> list[TaskRow]:
    """The task rows of the job record at ``path``, whatever its settings (for reports and checks)."""
    if not Path(path).is_file():
        raise InputError(f"There is no job record at {path}.")
    db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT key, state, error, worker, attempts, seconds, detail FROM tasks ORDER BY finished, key"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path} is not a faceforge job record ({exc}).") from exc
    finally:
        db.close()
    return [_task_row(row) for row in rows]


def _task_row(row: tuple[Any, ...]) -> TaskRow:
    """A ``tasks`` row as selected by :meth:`JobRecord.task` and :func:`read_tasks`."""
    key, state, error, worker, attempts, seconds, detail = row
    return TaskRow(key, state, error, worker, attempts, seconds, json.loads(detail) if detail else {})
