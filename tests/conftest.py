"""Shared fixtures: the test media live outside the repository, in ../shared/testdata."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared test media folder; tests that use it fail loudly when it is missing."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
