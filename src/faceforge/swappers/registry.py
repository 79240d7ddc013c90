"""Swapper names the CLI and the API accept."""

from __future__ import annotations

from collections.abc import Callable

from faceforge.swappers.base import Swapper
from faceforge.swappers.mesh import MeshSwapper

SWAPPERS: dict[str, Callable[[], Swapper]] = {
    "mesh": MeshSwapper,
}


def create_swapper(name: str) -> Swapper:
    try:
        factory = SWAPPERS[name]
    except KeyError:
        raise ValueError(f"Unknown swapper '{name}'; choose one of: {', '.join(sorted(SWAPPERS))}.") from None
    return factory()
