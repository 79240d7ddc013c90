"""Shared fixtures: the test media live outside the repository, in ../shared/testdata."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared test media folder; tests that use it fail loudly when it is missing."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def analyser():
    """One face analyser (MediaPipe graphs, dlib network) for the whole session."""
    from faceforge.analysis.analyser import FaceAnalyser

    with FaceAnalyser() as instance:
        yield instance


@pytest.fixture(scope="session")
def photo(testdata: Path):
    """Loader of a testdata still as uint8 RGB, cached for the session."""
    from functools import cache

    from faceforge.media.images import read_image

    @cache
    def load(name: str):
        image = read_image(testdata / name)
        image.flags.writeable = False
        return image

    return load
