"""The weights cache folder and its manifest.

Layout::

    CACHE_DIR/
      manifest.json              one record per cached name: file, sha256, size, source, when
      inswapper-128/inswapper_128.onnx
      my-ghost/G_finetuned.pth   a file added with ``faceforge weights add FILE --as my-ghost``

Each name has its own folder and the file keeps its upstream (or added) file name, so formats are still
told apart by suffix. ``manifest.json`` is replaced atomically on every change; the sha256 it records is
the one later checks compare against when the catalog pins none (trust on first use).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from faceforge.errors import InputError, WeightsError
from faceforge.media.atomic import atomic_output
from faceforge.media.locking import AdvisoryLock
from faceforge.weights.catalog import CATALOG

MANIFEST_FILE = "manifest.json"
MANIFEST_LOCK = ".manifest-lock"
MANIFEST_FORMAT = "faceforge-weights"
MANIFEST_VERSION = 1
_HASH_CHUNK = 1 << 20
MANIFEST_LIMIT = 16 << 20  # bytes; a manifest of a thousand names is ~300 kB


def default_cache_dir() -> Path:
    """$FACEFORGE_WEIGHTS_DIR, else $XDG_CACHE_HOME/faceforge/weights, else ~/.cache/faceforge/weights."""
    explicit = os.environ.get("FACEFORGE_WEIGHTS_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "faceforge" / "weights"


@dataclass(frozen=True, slots=True)
class CachedFile:
    """What the manifest records about one cached name."""

    file: str  # relative to the cache folder, with forward slashes
    sha256: str
    size: int
    source: str  # the URL it was downloaded from, or "added from PATH"
    when: str  # ISO 8601, UTC

    def path(self, cache_dir: Path) -> Path:
        return cache_dir / self.file


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256_digest(path: Path, progress: Callable[[int], None] | None = None) -> hashlib._Hash:
    """The sha256 digest of a file, read in 1 MiB chunks (still open to more data, as a resumed download
    needs); ``progress`` receives the bytes read so far."""
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
    return digest


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """Hex sha256 of a file; ``progress`` receives the bytes read so far."""
    return sha256_digest(path, progress).hexdigest()


def read_manifest(cache_dir: Path) -> dict[str, CachedFile]:
    """The cached names and their records; empty when the cache has no manifest yet."""
    path = cache_dir / MANIFEST_FILE
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MANIFEST_LIMIT + 1)
        if len(raw) > MANIFEST_LIMIT:
            raise WeightsError(
                f"The weights manifest {path} holds more than {MANIFEST_LIMIT >> 20} MB, far more than "
                "any cache needs; it is not read."
            )
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"The weights manifest {path} is not readable JSON ({exc}).") from None
    try:
        if data["format"] != MANIFEST_FORMAT or data["version"] != MANIFEST_VERSION:
            raise KeyError("format")
        return {name: CachedFile(**record) for name, record in data["files"].items()}
    except (KeyError, TypeError, AttributeError):
        raise WeightsError(
            f"The weights manifest {path} is not a version-{MANIFEST_VERSION} faceforge manifest."
        ) from None


def write_manifest(cache_dir: Path, records: Mapping[str, CachedFile]) -> None:
    data = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "files": {name: asdict(records[name]) for name in sorted(records)},
    }
    with atomic_output(cache_dir / MANIFEST_FILE) as temp:
        temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def record_file(cache_dir: Path, name: str, record: CachedFile) -> None:
    """Add or replace the manifest record of ``name``. Processes recording at the same moment take turns
    (a lock beside the manifest), so none loses another's record."""
    turn = AdvisoryLock(
        cache_dir / MANIFEST_LOCK, f"The weights manifest in {cache_dir} is locked ({{holder}}).", wait=True
    )
    with turn:
        records = read_manifest(cache_dir)
        records[name] = record
        write_manifest(cache_dir, records)


_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def check_name(name: str) -> str:
    """A cache name becomes a folder name: lower-case letters, digits, '.', '_' and '-' only."""
    if not _NAME.fullmatch(name):
        raise InputError(
            f"'{name}' is not a usable weights name: use up to 64 lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit."
        )
    return name


def pinned_sha256(name: str, records: Mapping[str, CachedFile]) -> str | None:
    """The sha256 a cached ``name`` must have: the catalog's, else the one recorded when it was cached."""
    entry = CATALOG.get(name)
    if entry is not None and entry.sha256 is not None:
        return entry.sha256
    record = records.get(name)
    return record.sha256 if record is not None else None
