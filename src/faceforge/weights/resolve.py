"""Turn what a user typed for ``--weights`` (a path or a name) into a file on disk."""

from __future__ import annotations

import os
from pathlib import Path

from faceforge.errors import WeightsError
from faceforge.weights.at_use import verify_at_use
from faceforge.weights.cache import default_cache_dir, pinned_sha256, read_manifest
from faceforge.weights.catalog import CATALOG


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or Path(text).suffix != ""


def resolve_weights(spec: str | os.PathLike[str], cache_dir: Path | None = None) -> Path:
    """An existing file or folder is returned as is; a catalog name, or a name added with
    ``faceforge weights add``, gives its file in the cache, whose sha256 is checked against the catalog's
    (else the one recorded when it was cached) at every use (:mod:`.at_use`). Anything else raises
    WeightsError saying what to run."""
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if path.exists():
        return path
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    records = read_manifest(cache)
    record = records.get(text)
    entry = CATALOG.get(text)
    if record is not None:
        cached = record.path(cache)
        if cached.is_file() and cached.stat().st_size == record.size:
            verify_at_use(cache, text, cached, pinned_sha256(text, records) or record.sha256)
            return cached
        fix = entry.restore_command() if entry is not None else f"faceforge weights add FILE --as {text}"
        raise WeightsError(
            f"The cached file of the weights '{text}' ({cached}) is missing or truncated; run `{fix}` again."
        )
    if entry is not None and entry.user_supplied:
        raise WeightsError(
            f"The weights '{text}' are not in the cache {cache}, and faceforge cannot download them: "
            f"{entry.how_to_get()}."
        )
    if entry is not None:
        raise WeightsError(
            f"The weights '{text}' are not in the cache {cache}; run `faceforge weights fetch {text}` "
            f"(or `faceforge weights add FILE --as {text}` for a copy you already have)."
        )
    if _looks_like_path(text):
        raise WeightsError(f"The weight file {path} does not exist.")
    raise WeightsError(
        f"'{text}' is neither an existing file nor a known weights name; see `faceforge weights list`, "
        f"or register a file with `faceforge weights add FILE --as {text}`."
    )
