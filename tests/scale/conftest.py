"""Fixtures of the scale-out tests: a two-keyframe clip with audio, made from the shared test media."""

from pathlib import Path

import pytest
from scale_media import two_keyframe_clip


@pytest.fixture(scope="session")
def clip(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """talking_audio_3s.mp4 (90 frames, 640x360, AAC) with keyframes at frames 0 and 45."""
    return two_keyframe_clip(testdata / "talking_audio_3s.mp4", tmp_path_factory.mktemp("clip") / "clip.mp4")
