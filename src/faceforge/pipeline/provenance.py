"""The provenance tag a swap run writes into every output."""

from __future__ import annotations

from typing import Any

from faceforge import __version__
from faceforge.media.provenance import make_tag


def swap_tag(swapper: str, faces_swapped: int | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"swapper": swapper}
    if faces_swapped is not None:
        details["faces_swapped"] = faces_swapped
    return make_tag(__version__, "face-swap", details)
