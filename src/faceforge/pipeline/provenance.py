"""The provenance tag a swap run writes into every output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faceforge.media.provenance import make_tag
from faceforge.version import __version__


def swap_tag(
    swapper: str,
    faces_swapped: int | None = None,
    processors: Sequence[str] = (),
    faces_declined: int | None = None,
) -> dict[str, Any]:
    """The tag of a swap output: the swapper, the processors that ran after it (in order) and, when
    known, how many faces were swapped and how many the swapper declined."""
    details: dict[str, Any] = {"swapper": swapper}
    if processors:
        details["processors"] = list(processors)
    if faces_swapped is not None:
        details["faces_swapped"] = faces_swapped
    if faces_declined:
        details["faces_declined"] = faces_declined
    return make_tag(__version__, "face-swap", details)
