"""Which target faces get swapped, and with which source.

Modes: ``largest`` (the biggest face), ``all``, ``index`` (the N-th face counting left to right) and
``reference`` (only faces whose identity matches a reference photo; with several sources, each source
has its own reference person and each face gets the source of the person it matches).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from faceforge.analysis.identity import SAME_PERSON
from faceforge.config import SelectionOptions
from faceforge.errors import OptionError
from faceforge.types import Face


@dataclass(frozen=True, slots=True)
class Assignment:
    """A target face and the index of the source that replaces it."""

    face: Face
    source: int


Embed = Callable[[np.ndarray, list[Face]], list[Face]]


class FaceSelector:
    """Chooses faces per frame: the one selection path of stills and videos.

    ``references`` holds one identity descriptor per source (reference mode only); ``distance`` is the
    identity encoder's metric and ``embed`` fills in the descriptors of faces that have none;
    ``same_person`` is the encoder's threshold, used when the options set none.

    Tracked faces (video frames, ``track_id`` set) keep their decision across frames: the largest face
    stays chosen until another grows clearly larger (no flip-flopping between two faces of about the same
    size), and a face's reference match holds until it is re-checked ``reverify_every`` frames later. An
    untracked face (a still) is decided on its own, with nothing remembered, so a still and the frame of
    a video it was taken from are chosen alike. One selector follows one stream of frames; :meth:`fresh`
    gives another with the same settings and nothing remembered.
    """

    def __init__(
        self,
        options: SelectionOptions,
        references: Sequence[np.ndarray] = (),
        distance: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        embed: Embed | None = None,
        reverify_every: int = 30,
        same_person: float = SAME_PERSON,
    ) -> None:
        if options.mode == "reference" and (not references or distance is None):
            raise OptionError("Reference selection needs a reference identity for each source.")
        self.options = options
        self.same_person = same_person
        self.threshold = options.threshold if options.threshold is not None else same_person
        self.references = np.stack(references) if len(references) else np.zeros((0, 128), np.float32)
        self._distance = distance
        self._embed = embed
        self.reverify_every = max(1, reverify_every)
        self._largest: int | None = None  # the track chosen in largest mode
        self._decisions: dict[int, tuple[int, int | None]] = {}  # track id -> (frame decided, source)

    def fresh(self) -> FaceSelector:
        """A selector with the same settings and nothing remembered (for a new video)."""
        return FaceSelector(
            self.options,
            list(self.references),
            self._distance,
            self._embed,
            self.reverify_every,
            self.same_person,
        )

    @property
    def needs_identity(self) -> bool:
        return self.options.mode == "reference"

    def select(
        self, faces: Sequence[Face], image: np.ndarray | None = None, index: int = 0
    ) -> list[Assignment]:
        """Assignments for the faces of frame ``index`` of the stream (``image`` is needed in reference
        mode for faces that carry no embedding yet)."""
        if not faces:
            return []
        mode = self.options.mode
        if mode == "largest":
            return [Assignment(self._choose_largest(faces), 0)]
        if mode == "all":
            return [Assignment(f, 0) for f in faces]
        if mode == "index":
            ordered = sorted(faces, key=lambda f: float(f.box[0] + f.box[2]))
            position = self.options.face_index
            return [Assignment(ordered[position], 0)] if 0 <= position < len(ordered) else []
        return self._by_reference(faces, image, index)

    def _choose_largest(self, faces: Sequence[Face]) -> Face:
        biggest = max(faces, key=lambda f: f.size)
        current = next((f for f in faces if f.track_id is not None and f.track_id == self._largest), None)
        if current is not None and biggest.size <= 1.25 * current.size:
            return current
        self._largest = biggest.track_id
        return biggest

    def _by_reference(self, faces: Sequence[Face], image: np.ndarray | None, index: int) -> list[Assignment]:
        due = [
            f
            for f in faces
            if f.track_id is None
            or f.track_id not in self._decisions
            or index - self._decisions[f.track_id][0] >= self.reverify_every
        ]
        decided: dict[int, int | None] = {}  # id(face) -> its source, for the faces decided now
        for face, embedded in zip(due, self._with_embeddings(due, image), strict=True):
            match = self.match(embedded)
            decided[id(face)] = match.source if match else None
            if face.track_id is not None:
                self._decisions[face.track_id] = (index, decided[id(face)])
        chosen = []
        for face in faces:
            source = decided[id(face)] if id(face) in decided else self._decisions[face.track_id or 0][1]
            if source is not None:
                chosen.append(Assignment(face, source))
        return chosen

    def _with_embeddings(self, faces: list[Face], image: np.ndarray | None) -> list[Face]:
        """``faces`` with identity descriptors: those they carry, the others computed in one call."""
        missing = [f for f in faces if f.embedding is None]
        if not missing:
            return faces
        if self._embed is None or image is None:
            raise ValueError("Reference selection needs identity embeddings on the target faces.")
        computed = iter(self._embed(image, missing))
        return [f if f.embedding is not None else next(computed) for f in faces]

    def match(self, face: Face) -> Assignment | None:
        """The source whose reference person this face is, if any is close enough."""
        if face.embedding is None or self._distance is None:
            raise ValueError("Reference selection needs identity embeddings on the target faces.")
        distances = self._distance(self.references, face.embedding[None])
        best = int(np.argmin(distances))
        return Assignment(face, best) if float(distances[best]) < self.threshold else None
