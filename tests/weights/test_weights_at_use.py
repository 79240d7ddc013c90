"""A cached weight file's sha256 is checked at every use, hashed only when the file changed; a file whose
hash differs is refused with a sentence naming it and both hashes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from faceforge.errors import WeightsError
from faceforge.weights import resolve_weights
from faceforge.weights.add import add_file
from faceforge.weights.at_use import VERIFIED_FILE, verify_at_use
from faceforge.weights.cache import CachedFile, now, record_file


def test_an_unchanged_file_is_hashed_once_and_an_edit_is_caught(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = tmp_path / "G.pth"
    source.write_bytes(b"generator weights" * 1000)
    record = add_file(source, "my-generator", cache)
    cached = record.path(cache)

    assert resolve_weights("my-generator", cache) == cached  # first use: hashed and remembered
    assert (cache / VERIFIED_FILE).is_file()
    assert verify_at_use(cache, "my-generator", cached, record.sha256) is False  # nothing re-hashed
    assert resolve_weights("my-generator", cache) == cached

    before = os.stat(cached)
    data = bytearray(cached.read_bytes())
    data[5] ^= 0xFF  # same size, and the old mtime put back: only ctime tells
    cached.write_bytes(bytes(data))
    os.utime(cached, ns=(before.st_atime_ns, before.st_mtime_ns))
    edited = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(WeightsError) as refused:
        resolve_weights("my-generator", cache)
    text = str(refused.value)
    assert f"The cached file {cached} of the weights 'my-generator' has sha256 {edited}" in text
    assert f"was recorded when it was cached: {record.sha256}" in text
    assert "run `faceforge weights add FILE --as my-generator` again" in text


def test_a_catalog_name_whose_file_differs_from_the_published_hash(
    tmp_path: Path, patch_catalog, local_entry
) -> None:
    published = hashlib.sha256(b"the published generator").hexdigest()
    entry = local_entry(published)
    patch_catalog(entry)
    cache = tmp_path / "cache"
    cached = cache / entry.name / entry.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"another generator")  # e.g. a cache restored from an older backup
    actual = hashlib.sha256(b"another generator").hexdigest()
    record_file(
        cache,
        entry.name,
        CachedFile(f"{entry.name}/{entry.filename}", actual, cached.stat().st_size, "x", now()),
    )
    with pytest.raises(WeightsError) as refused:
        resolve_weights(entry.name, cache)
    text = str(refused.value)
    assert (
        f"{cached} of the weights '{entry.name}' has sha256 {actual}, but the catalog publishes {published}"
        in text
    )
    assert f"run `faceforge weights fetch {entry.name}` again" in text
    assert not (cache / VERIFIED_FILE).exists()  # a failed check is never remembered


def test_a_damaged_verification_record_only_costs_a_rehash(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    source = tmp_path / "G.pth"
    source.write_bytes(b"weights")
    record = add_file(source, "mine", cache)
    (cache / VERIFIED_FILE).write_bytes(b"\xff not json")
    assert verify_at_use(cache, "mine", record.path(cache), record.sha256) is True
    assert verify_at_use(cache, "mine", record.path(cache), record.sha256) is False
