"""Swap jobs: a small SQLite table and one runner thread that works through it in order.

A job holds everything needed to run it again (its copied inputs, its references and its settings),
so it outlives the page that queued it: a reload shows the table as it is, and a restarted UI picks up
jobs that were queued or running (a running one starts again; outputs are written atomically, so
nothing half-written is ever shown).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceforge.errors import FaceforgeError

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    state TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    request TEXT NOT NULL,
    output TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What a job swaps: source photos (one list per source person), the target, optional reference
    photos (one per source person) and the option settings by dotted key."""

    sources: list[list[str]]
    target: str
    references: list[str] | None
    settings: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {
                "sources": self.sources,
                "target": self.target,
                "references": self.references,
                "settings": self.settings,
            }
        )

    @staticmethod
    def from_json(text: str) -> JobRequest:
        data = json.loads(text)
        return JobRequest(data["sources"], data["target"], data["references"], data["settings"])


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    created: float
    state: str
    done: int
    total: int
    message: str
    request: JobRequest
    output: Path

    @property
    def fraction(self) -> float:
        if self.state == DONE:
            return 1.0
        return self.done / self.total if self.total else 0.0


class JobStore:
    """The job table in ``path`` (WAL mode; one short connection per call, so any thread may use it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def add(self, request: JobRequest, output: Path) -> int:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO jobs (created, state, request, output) VALUES (?, ?, ?, ?)",
                (time.time(), QUEUED, request.to_json(), str(output)),
            )
            return int(cursor.lastrowid or 0)

    def jobs(self, job_id: int | None = None) -> list[Job]:
        """Every job in order, or only ``job_id``."""
        query = "SELECT id, created, state, done, total, message, request, output FROM jobs"
        with self._connect() as db:
            if job_id is None:
                rows = db.execute(query + " ORDER BY id").fetchall()
            else:
                rows = db.execute(query + " WHERE id = ?", (job_id,)).fetchall()
        return [Job(r[0], r[1], r[2], r[3], r[4], r[5], JobRequest.from_json(r[6]), Path(r[7])) for r in rows]

    def get(self, job_id: int) -> Job | None:
        found = self.jobs(job_id)
        return found[0] if found else None

    def claim_next(self) -> Job | None:
        """The oldest queued job, marked running; None when none is waiting."""
        with self._connect() as db:
            row = db.execute("SELECT id FROM jobs WHERE state = ? ORDER BY id LIMIT 1", (QUEUED,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state = ?, done = 0 WHERE id = ?", (RUNNING, row[0]))
        return self.get(row[0])

    def progress(self, job_id: int, done: int, total: int) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET done = ?, total = ? WHERE id = ?", (done, total, job_id))

    def finish(self, job_id: int, state: str, message: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET state = ?, message = ? WHERE id = ?", (state, message, job_id))

    def requeue_interrupted(self) -> int:
        """Jobs left running by a UI that stopped go back to the queue; how many."""
        with self._connect() as db:
            return db.execute("UPDATE jobs SET state = ? WHERE state = ?", (QUEUED, RUNNING)).rowcount


#: Runs one job: (request, output, progress(done, total)) -> a one-line summary.
RunJob = Callable[[JobRequest, Path, Callable[[int, int], None]], str]


class JobRunner:
    """One thread that runs queued jobs one after another until :meth:`stop`."""

    def __init__(self, store: JobStore, run: RunJob) -> None:
        self.store = store
        self._run = run
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="faceforge-ui-jobs", daemon=True)

    def start(self) -> None:
        self.store.requeue_interrupted()
        self._thread.start()

    def submit(self, request: JobRequest, output: Path) -> int:
        job_id = self.store.add(request, output)
        self._wake.set()
        return job_id

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = self.store.claim_next()
            if job is None:
                self._wake.wait()
                self._wake.clear()
                continue
            self._execute(job)

    def _execute(self, job: Job) -> None:
        def progress(done: int, total: int) -> None:
            self.store.progress(job.id, done, total)

        try:
            summary = self._run(job.request, job.output, progress)
        except (FaceforgeError, ValueError) as exc:
            self.store.finish(job.id, FAILED, str(exc))
        except Exception as exc:  # a bug: the job fails with its name, the runner keeps going
            self.store.finish(job.id, FAILED, f"internal error: {type(exc).__name__}: {exc}")
        else:
            self.store.finish(job.id, DONE, summary)
