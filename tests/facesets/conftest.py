"""A small faceset of real photos (9 faces of two group photos), copied fresh for every test that changes
it, and helpers to run the CLI and to check that files are left byte for byte as they were."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from faceset_cli import BOOKKEEPING, PHOTOS, digests

from faceforge.facesets.extract import ExtractOptions, extract_faceset


@pytest.fixture(scope="session")
def photo_faceset_master(testdata: Path, analyser, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos") / "set"
    report = extract_faceset([testdata / name for name in PHOTOS], root, ExtractOptions(size=96), analyser)
    assert report.faces_added >= 6
    return root


@pytest.fixture
def photo_faceset(photo_faceset_master: Path, tmp_path: Path) -> Path:
    """A private copy of the photo faceset."""
    return Path(shutil.copytree(photo_faceset_master, tmp_path / "set"))


@pytest.fixture
def unchanged(testdata: Path) -> Callable[..., Callable[[], None]]:
    """``check = unchanged(path, ...)`` records digests (the test media always included); ``check()``
    asserts nothing changed."""

    def record(*paths: Path) -> Callable[[], None]:
        before = digests(testdata, *paths)

        def check() -> None:
            after = digests(testdata, *paths)
            assert {path: after.get(path) for path in before} == before
            added = [Path(path).name for path in set(after) - set(before)]
            assert all(name in BOOKKEEPING for name in added), added

        return check

    return record
