"""Helpers of the faceset tests: run the CLI at 80 columns, digest files to prove them unchanged."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

FACEFORGE = Path(sys.executable).parent / "faceforge"
PHOTOS = ("group_3faces.jpg", "group_6faces_dinner.jpg")
# files a faceset command may add beside the index without changing it: the lock, SQLite's WAL files
BOOKKEEPING = {".faceforge-lock", "faceset.db-wal", "faceset.db-shm"}


def run_cli(*args: object, timeout: float = 180, env: dict[str, str] | None = None):
    """``faceforge ARGS`` in a child process (80 columns, as a plain terminal), its output captured."""
    environment = {**os.environ, "OMP_NUM_THREADS": "2", "COLUMNS": "80", **(env or {})}
    return subprocess.run(
        [str(FACEFORGE), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=environment
    )


def digests(*paths: Path) -> dict[str, str]:
    """sha256 of every file under ``paths`` (files or folders), by path."""
    out = {}
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in (f for f in files if f.name not in BOOKKEEPING):
            out[str(file)] = hashlib.sha256(file.read_bytes()).hexdigest()
    return out
