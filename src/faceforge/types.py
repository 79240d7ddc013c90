"""The few dataclasses every stage shares.

Conventions: images are ``uint8`` RGB ``HxWx3`` numpy arrays; coordinates are ``float32`` pixels, x
then y. FaceMesh landmarks are ``(478, 3)``: x and y in frame pixels, z the relative depth in the same
pixel scale (smaller is closer to the camera). Points 0-467 are the face mesh, 468-477 the irises.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

MESH_POINTS = 468
LANDMARK_POINTS = 478


@dataclass(frozen=True, slots=True)
class Detection:
    """A face found by a detector, before landmarks."""

    box: np.ndarray  # (4,) x0, y0, x1, y1 in frame pixels
    score: float
    keypoints: np.ndarray  # (6, 2): right eye, left eye, nose tip, mouth, right ear, left ear


@dataclass(frozen=True, slots=True)
class Face:
    """One face in one image or frame, with dense landmarks."""

    box: np.ndarray  # (4,) x0, y0, x1, y1 in frame pixels
    score: float
    landmarks: np.ndarray  # (478, 3) see module docstring
    embedding: np.ndarray | None = None  # identity descriptor, when computed
    track_id: int | None = None

    @property
    def points(self) -> np.ndarray:
        """The 2-D landmark positions, ``(478, 2)``."""
        return self.landmarks[:, :2]

    @property
    def size(self) -> float:
        """Face size in pixels: the larger side of the landmark bounding box."""
        span = self.points.max(axis=0) - self.points.min(axis=0)
        return float(span.max())

    def with_(self, **changes: Any) -> Face:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class AlignedFace:
    """A face cropped and warped into a swapper's template."""

    image: np.ndarray  # (S, S, 3) uint8
    matrix: np.ndarray  # (2, 3) affine, frame pixels -> crop pixels
    landmarks: np.ndarray  # (478, 3) in crop pixels (z scaled like x and y)
    face: Face  # the face in frame coordinates it came from


@dataclass(frozen=True, slots=True)
class SwapResult:
    """A swapper's output for one aligned face."""

    image: np.ndarray  # (S, S, 3) uint8, the swapped crop
    mask: np.ndarray | None = None  # (S, S) float32 in [0, 1] when the swapper knows where its face is
    # (S, S) float32 in [0, 1]: where the crop holds the target's own pixels moved by the swap (the
    # surroundings a narrower jaw drew in). Pasted as they are, never colour-matched, and not limited to
    # the face mask. None when the swapper moves none.
    surroundings: np.ndarray | None = None
    # Why the swapper declined this face (a pose it cannot swap well, say); the face is then left as it
    # is and counted in the run's report, never half-swapped. None when the face was swapped.
    declined: str | None = None


@dataclass(frozen=True, slots=True)
class SourceIdentity:
    """Everything a run knows about the person whose face is put in.

    ``views`` are the analysed source photos (image and face); ``embedding`` is the mean identity
    descriptor over them, used to pick source views and by identity-conditioned swappers.
    """

    views: tuple[tuple[np.ndarray, Face], ...]
    embedding: np.ndarray | None = None
    name: str = "source"
    extras: dict[str, object] = field(default_factory=dict)
