"""Writing a one-shot model folder's weights and reading back the training settings it was made with.

The folder's format, and reading its generator for swapping, live in :mod:`faceforge.models.oneshot`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from torch import Tensor

from faceforge.errors import InputError
from faceforge.models.oneshot import DISCRIMINATOR_PREFIX, GENERATOR_PREFIX, read_oneshot_config
from faceforge.training.oneshot.config import OneshotConfig


def prefixed(generator: Mapping[str, Tensor], discriminator: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """One flat state for ``model.safetensors``: ``G.<key>`` and ``D.<key>``."""
    return {
        **{GENERATOR_PREFIX + key: value for key, value in generator.items()},
        **{DISCRIMINATOR_PREFIX + key: value for key, value in discriminator.items()},
    }


def read_training_config(model_dir: Path) -> OneshotConfig:
    """The :class:`~faceforge.training.oneshot.config.OneshotConfig` a one-shot model folder was trained
    with (its ``train`` section and its generator)."""
    stored = read_oneshot_config(model_dir)
    try:
        return OneshotConfig.from_dict({**stored.get("train", {}), "generator": stored["generator"]})
    except (TypeError, ValueError) as exc:
        raise InputError(f"{model_dir}/config.json has unusable training settings ({exc}).") from None
