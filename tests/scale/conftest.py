"""Fixtures of the scale-out tests: a clip with a scene cut and audio, made from the shared test media."""

from pathlib import Path

import pytest
from scale_media import scene_cut_clip


@pytest.fixture(scope="session")
def clip(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2 s of talking_audio.mp4 (60 frames, 640x360, AAC): a close-up, a scene cut at frame 22,
    a wide shot; keyframes at frames 0 and 30."""
    return scene_cut_clip(testdata / "talking_audio.mp4", tmp_path_factory.mktemp("clip") / "clip.mp4")
