"""Shared fixtures: the test media (outside the repository, in ../shared/testdata), the analyser, and two
tiny facesets (person A and person B) extracted once per session for the training tests."""

import signal
from pathlib import Path

import pytest

from faceforge.facesets.extract import ExtractOptions, extract_faceset

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop the run at once, in one sentence, when the shared test media are not beside the checkout
    (instead of a failure deep in the run)."""
    if not (TESTDATA / "SOURCES.md").is_file():
        pytest.exit(
            f"The test media are missing: the suite needs the shared folder at {TESTDATA} "
            "(../shared/testdata beside the repository, with SOURCES.md in it).",
            returncode=4,
        )
    # A run started in the background of a non-interactive shell (`make test &`, nohup, some CI runners)
    # inherits SIGINT ignored, and an ignored signal stays ignored across exec: every faceforge the tests
    # start would then ignore the Ctrl-C they send it and hang. Catching it here means children start
    # with the default action, so Python gives them KeyboardInterrupt as on a terminal.
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared test media folder (its presence is checked when the session starts)."""
    return TESTDATA


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


# Every 6th frame, 128-px crops (the trainer's 64/128-px models need no more): ~13 and ~10 faces.
_OPTIONS = ExtractOptions(size=128, every=6, identity_every=64)


@pytest.fixture(scope="session")
def faceset_a(testdata: Path, analyser, tmp_path_factory) -> Path:
    """Person A: the talking head of ``talking_audio_3s.mp4``."""
    root = tmp_path_factory.mktemp("faceset") / "a"
    extract_faceset([testdata / "talking_audio_3s.mp4"], root, _OPTIONS, analyser)
    return root


@pytest.fixture(scope="session")
def faceset_b(testdata: Path, analyser, tmp_path_factory) -> Path:
    """Person B: the face of ``short_noaudio_small.mp4``."""
    root = tmp_path_factory.mktemp("faceset") / "b"
    extract_faceset([testdata / "short_noaudio_small.mp4"], root, _OPTIONS, analyser)
    return root
