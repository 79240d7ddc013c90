"""Which part of a stored face crop a pair model sees: the same numbers for its training and its swaps.

The centred ``coverage`` share of the crop (0.8 by default, which holds the whole face oval with the
lifted forehead and a little margin in the ``full-face`` template) is the square the model is fed.
"""

from __future__ import annotations

DEFAULT_COVERAGE = 0.8


def coverage_geometry(input_size: int, output_size: int, coverage: float) -> tuple[int, int, int]:
    """``(side, offset, work)``: the stored crop is resized to ``side`` px, and its centred square of
    ``work = max(input_size, output_size)`` px at ``offset`` (a whole pixel) is what the model sees; so
    ``work / side`` is the coverage, within half a pixel. The swapper uses the same numbers to convert."""
    work = max(input_size, output_size)
    side = round(work / coverage)
    side += (side - work) % 2
    return side, (side - work) // 2, work
