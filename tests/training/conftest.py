"""Two tiny facesets (person A and person B) for the training tests, extracted once per session."""

from pathlib import Path

import pytest

from faceforge.facesets.extract import ExtractOptions, extract_faceset

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
