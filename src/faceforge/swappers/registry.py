"""Swapper names the CLI and the API accept."""

from __future__ import annotations

from collections.abc import Callable

from faceforge.swappers.base import Swapper
from faceforge.swappers.mesh import MeshSwapper


def _autoencoder(**options: object) -> Swapper:
    """A trained pair model (imported on use: it needs torch). Needs ``model_dir``: --model MODEL_DIR."""
    from faceforge.swappers.autoencoder import AutoencoderSwapper

    return AutoencoderSwapper(**options)  # type: ignore[arg-type]


SWAPPERS: dict[str, Callable[[], Swapper]] = {
    "mesh": MeshSwapper,
    "autoencoder": _autoencoder,
}


def create_swapper(name: str) -> Swapper:
    try:
        factory = SWAPPERS[name]
    except KeyError:
        raise ValueError(f"Unknown swapper '{name}'; choose one of: {', '.join(sorted(SWAPPERS))}.") from None
    return factory()
