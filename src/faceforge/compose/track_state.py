"""Per-track exponential averages of crop-space corrections (the shading's light, the seam's edge tone).

A correction fitted to one frame moves with that frame's pixels (a blink, the mouth, JPEG noise); the
same face in the next frame should get nearly the same one. Crops are aligned to the face, so a crop-space
correction can be averaged pixel by pixel across a track's frames.
"""

from __future__ import annotations

import numpy as np


class TrackAverage:
    """Exponential average per track id of same-shaped arrays, ``weight`` for the newest; a value of
    another shape (another crop size) restarts its track. Not thread-safe: one per compositor."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self._values: dict[int, np.ndarray] = {}

    def update(self, track_id: int | None, value: np.ndarray) -> np.ndarray:
        """The track's average including ``value``; ``value`` itself when ``track_id`` is None (a still)."""
        if track_id is None:
            return value
        previous = self._values.get(track_id)
        if previous is not None and previous.shape == value.shape:
            value = previous + np.float32(self.weight) * (value - previous)
        self._values[track_id] = value
        return value

    def reset(self) -> None:
        """Forget every track."""
        self._values.clear()
