"""The identity guard: a face enhancer may sharpen a face, not change who it is.

For every enhanced face the guard embeds the swapped crop and the crop blended with the enhancer's
output at the step's blend (one batch through the identity network for all faces); only for the faces
whose embedding moved more than ``threshold`` away does it try half and a quarter of the blend (a
second batch), keeping the strongest blend within the threshold. When none is, the enhancement of that face
is dropped. What it decided is kept in :attr:`IdentityGuard.records` (the distance at the full
blend, the distance and blend kept), for reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from faceforge.types import AlignedFace, Face

BLEND_STEPS = (1.0, 0.5, 0.25)  # shares of the step's blend tried, strongest first


class ChipEncoder(Protocol):
    """An identity encoder that embeds chips in batches (both of faceforge's dlib ResNet backends)."""

    def chips(self, image: np.ndarray, faces: list[Face]) -> list[np.ndarray]: ...

    def embed_chips(self, chips: np.ndarray) -> np.ndarray: ...

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class GuardRecord:
    distance: float  # identity distance of the fully blended enhancement from the swapped face
    kept_distance: float  # the distance at the blend kept (0 when the enhancement was dropped)
    blend: float  # the blend kept (0: dropped)


def crop_face(aligned: AlignedFace) -> Face:
    """The face of an aligned crop in the crop's own pixel coordinates (what an identity encoder needs
    to cut its chip from the crop)."""
    points = aligned.landmarks[:, :2]
    box = np.array([*points.min(axis=0), *points.max(axis=0)], dtype=np.float32)
    return Face(box=box, score=1.0, landmarks=aligned.landmarks)


class IdentityGuard:
    """See the module docstring; ``encoder`` is faceforge's dlib ResNet by default."""

    def __init__(self, encoder: ChipEncoder, threshold: float) -> None:
        self.encoder = encoder
        self.threshold = threshold
        self.records: list[GuardRecord] = []

    def choose(
        self,
        faces: Sequence[AlignedFace],
        swapped: Sequence[np.ndarray],
        blended: Callable[[int, float], np.ndarray],
        blends: Sequence[float],
    ) -> list[float]:
        """The blend to keep for each face: ``blended(i, b)`` is face ``i``'s crop at blend ``b``."""
        everyone = range(len(faces))
        first = self._embed(
            [(i, swapped[i]) for i in everyone] + [(i, blended(i, blends[i])) for i in everyone], faces
        )
        swapped_vectors = first[: len(faces)]
        distances = {i: [self._distance(swapped_vectors[i], first[len(faces) + i])] for i in everyone}
        retry = [i for i in everyone if distances[i][0] > self.threshold]
        if retry:
            tries = [(i, share) for i in retry for share in BLEND_STEPS[1:]]
            vectors = self._embed([(i, blended(i, blends[i] * share)) for i, share in tries], faces)
            for (i, _), vector in zip(tries, vectors, strict=True):
                distances[i].append(self._distance(swapped_vectors[i], vector))
        kept: list[float] = []
        for i in everyone:
            fits = [k for k, d in enumerate(distances[i]) if d <= self.threshold]
            blend = blends[i] * BLEND_STEPS[fits[0]] if fits else 0.0
            self.records.append(GuardRecord(distances[i][0], distances[i][fits[0]] if fits else 0.0, blend))
            kept.append(blend)
        return kept

    def _embed(self, images: Sequence[tuple[int, np.ndarray]], faces: Sequence[AlignedFace]) -> np.ndarray:
        """One identity vector per ``(face index, crop)``, in one batch."""
        chips = [chip for i, image in images for chip in self.encoder.chips(image, [crop_face(faces[i])])]
        return self.encoder.embed_chips(np.stack(chips))

    def _distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(self.encoder.distance(a, b))
