"""Re-hash cached weight files against their pinned sha256 (``faceforge weights verify``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from faceforge.weights.cache import pinned_sha256, read_manifest, sha256_file

Status = Literal["ok", "mismatch", "missing", "not cached"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    path: Path | None  # the cached file, when the manifest names one
    expected: str | None  # the catalog's sha256, else the one recorded when the file was cached
    actual: str | None  # the sha256 of the file as it is now

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def verify_cached(
    cache_dir: Path,
    names: Sequence[str] = (),
    on_file: Callable[[str, Path], Callable[[int], None] | None] | None = None,
) -> list[Check]:
    """Check ``names`` (default: everything in the manifest). ``on_file(name, path)`` may return a callback
    that receives the bytes hashed so far, for a progress display."""
    records = read_manifest(cache_dir)
    checks = []
    for name in names or sorted(records):
        record = records.get(name)
        if record is None:
            checks.append(Check(name, "not cached", None, None, None))
            continue
        path = record.path(cache_dir)
        expected = pinned_sha256(name, records)
        if not path.is_file():
            checks.append(Check(name, "missing", path, expected, None))
            continue
        actual = sha256_file(path, on_file(name, path) if on_file is not None else None)
        checks.append(Check(name, "ok" if actual == expected else "mismatch", path, expected, actual))
    return checks
