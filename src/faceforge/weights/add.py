"""Put a weight file the user already has into the cache under a name (``faceforge weights add``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from faceforge.errors import InputError, WeightsError
from faceforge.media.atomic import atomic_output
from faceforge.weights.cache import CachedFile, check_name, now, read_manifest, record_file, sha256_file
from faceforge.weights.catalog import CATALOG


def _cached_filename(name: str, source: Path) -> str:
    """A catalog name keeps the upstream file name (with the added file's suffix, if that differs, so the
    format is still told by suffix); any other name keeps the added file's name."""
    entry = CATALOG.get(name)
    if entry is None:
        return source.name
    upstream = Path(entry.filename)
    return entry.filename if upstream.suffix == source.suffix else upstream.stem + source.suffix


def add_file(source: Path, name: str, cache_dir: Path) -> CachedFile:
    """Copy ``source`` into the cache as ``name`` and record its sha256. A copy, never a hard link: editing
    the original later must not change the cached weights behind the recorded hash.

    A catalog name with a pinned sha256 accepts only a file with that hash; on a mismatch nothing is left
    in the cache. Adding over an existing name replaces it, which is also how a trust-on-first-use record is
    deliberately reset.
    """
    check_name(name)
    source = Path(source)
    if not source.is_file():
        raise InputError(f"{source} is not a file.")
    folder = cache_dir / name
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"Cannot create the weights folder {folder}: {exc.strerror or exc}.") from None
    target = folder / _cached_filename(name, source)
    previous = read_manifest(cache_dir).get(name)
    entry = CATALOG.get(name)
    try:
        with atomic_output(target) as temp:
            shutil.copyfile(source, temp)
            sha256 = sha256_file(temp)
            if entry is not None and entry.sha256 is not None and sha256 != entry.sha256:
                raise WeightsError(
                    f"{source} has sha256 {sha256}, not the {entry.sha256} pinned for '{name}'; "
                    "it was not added."
                )
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    record = CachedFile(
        file=f"{name}/{target.name}",
        sha256=sha256,
        size=target.stat().st_size,
        source=f"added from {source.resolve()}",
        when=now(),
    )
    record_file(cache_dir, name, record)
    if previous is not None and previous.file != record.file:
        previous.path(cache_dir).unlink(missing_ok=True)
    return record
