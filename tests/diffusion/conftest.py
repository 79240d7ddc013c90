"""Tiny diffusion stacks (random weights, see tiny_models.py) built once per session in local folders."""

from pathlib import Path

import pytest
from tiny_models import build_sd15, build_sdxl


@pytest.fixture(scope="session")
def tiny_sd15(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SD 1.5-style inpainting pipeline folder (diffusers layout)."""
    return build_sd15(tmp_path_factory.mktemp("tiny-sd15") / "model")


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SDXL-style inpainting pipeline folder (diffusers layout)."""
    return build_sdxl(tmp_path_factory.mktemp("tiny-sdxl") / "model")
