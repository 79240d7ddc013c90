"""Which target faces get swapped, and with which source.

Modes: ``largest`` (the biggest face), ``all``, ``index`` (the N-th face counting left to right) and
``reference`` (only faces whose identity matches a reference photo; with several sources, each source
has its own reference person and each face gets the source of the person it matches).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from faceforge.types import Face

SelectionMode = Literal["largest", "all", "index", "reference"]
SELECTION_MODES: tuple[SelectionMode, ...] = ("largest", "all", "index", "reference")


@dataclass(frozen=True, slots=True)
class SelectionOptions:
    mode: SelectionMode = "largest"
    face_index: int = 0
    threshold: float = 0.6  # identity distance below which a face counts as the reference person


@dataclass(frozen=True, slots=True)
class Assignment:
    """A target face and the index of the source that replaces it."""

    face: Face
    source: int


class FaceSelector:
    """Chooses faces per frame. ``references`` holds one identity descriptor per source (reference
    mode only); ``distance`` is the identity encoder's metric."""

    def __init__(
        self,
        options: SelectionOptions,
        references: Sequence[np.ndarray] = (),
        distance: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> None:
        if options.mode == "reference" and (not references or distance is None):
            raise ValueError("Reference selection needs a reference identity for each source.")
        if options.mode not in SELECTION_MODES:
            raise ValueError(
                f"Unknown selection mode '{options.mode}'; choose one of: {', '.join(SELECTION_MODES)}."
            )
        self.options = options
        self.references = np.stack(references) if len(references) else np.zeros((0, 128), np.float32)
        self._distance = distance

    @property
    def needs_identity(self) -> bool:
        return self.options.mode == "reference"

    def select(self, faces: Sequence[Face]) -> list[Assignment]:
        """Assignments for the faces of one frame (faces must carry embeddings in reference mode)."""
        if not faces:
            return []
        mode = self.options.mode
        if mode == "largest":
            return [Assignment(max(faces, key=lambda f: f.size), 0)]
        if mode == "all":
            return [Assignment(f, 0) for f in faces]
        if mode == "index":
            ordered = sorted(faces, key=lambda f: float(f.box[0] + f.box[2]))
            index = self.options.face_index
            return [Assignment(ordered[index], 0)] if 0 <= index < len(ordered) else []
        return [a for a in (self.match(f) for f in faces) if a is not None]

    def match(self, face: Face) -> Assignment | None:
        """The source whose reference person this face is, if any is close enough."""
        if face.embedding is None or self._distance is None:
            raise ValueError("Reference selection needs identity embeddings on the target faces.")
        distances = self._distance(self.references, face.embedding[None])
        best = int(np.argmin(distances))
        return Assignment(face, best) if float(distances[best]) < self.options.threshold else None
