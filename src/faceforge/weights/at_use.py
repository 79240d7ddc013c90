"""Check a cached weight file's sha256 every time it is used, at the cost of one stat when unchanged.

Hashing a 500 MB generator on every run would cost seconds, so a successful check is remembered in
``CACHE_DIR/verified.json``, keyed by what changes whenever the file's bytes can have changed: device,
inode, size, mtime and ctime (ctime cannot be set back by a user, unlike mtime). A file edited in place,
replaced or restored from elsewhere has another key and is hashed again. The record is only a cache: a
read-only or damaged one costs a re-hash, never a wrong answer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from faceforge.errors import FaceforgeError, WeightsError
from faceforge.media.atomic import atomic_output
from faceforge.weights.cache import sha256_file
from faceforge.weights.catalog import CATALOG

VERIFIED_FILE = "verified.json"
_RECORD_LIMIT = 1 << 20  # bytes of verified.json read; more is not ours


def _stat_key(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _read_records(cache_dir: Path) -> dict[str, dict[str, object]]:
    try:
        with open(cache_dir / VERIFIED_FILE, "rb") as handle:
            data = json.loads(handle.read(_RECORD_LIMIT).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_records(cache_dir: Path, records: dict[str, dict[str, object]]) -> None:
    try:
        with atomic_output(cache_dir / VERIFIED_FILE) as temp:
            temp.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    except (OSError, FaceforgeError):
        pass  # a read-only cache: the next use hashes again


def verify_at_use(cache_dir: Path, name: str, path: Path, expected: str) -> bool:
    """Raise WeightsError (naming the file and both hashes) unless ``path`` has sha256 ``expected``.
    Returns True when the file had to be hashed, False when an earlier check of the unchanged file holds."""
    key = _stat_key(path)
    records = _read_records(cache_dir)
    known = records.get(name)
    if isinstance(known, dict) and known.get("key") == key and known.get("sha256") == expected:
        return False
    actual = sha256_file(path)
    if actual != expected:
        entry = CATALOG.get(name)
        published = entry is not None and entry.sha256 == expected
        where = "the catalog publishes" if published else "was recorded when it was cached:"
        fix = entry.restore_command() if entry is not None else f"faceforge weights add FILE --as {name}"
        raise WeightsError(
            f"The cached file {path} of the weights '{name}' has sha256 {actual}, but {where} {expected}; "
            f"it was changed or damaged after caching, so it is not used: run `{fix}` again."
        )
    records[name] = {"key": key, "sha256": expected, "file": str(path)}
    _write_records(cache_dir, records)
    return True
