"""The target's faces as clickable thumbnails, and the selection a click makes.

A clicked face becomes a *reference*: a crop of that face, given to the session exactly like a
``--reference`` photo (or the REFERENCE of ``--map SOURCE=REFERENCE`` when several sources are
uploaded). So a choice made on one frame holds through a whole video, as on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.errors import InputError
from faceforge.media.images import is_image_path, read_image
from faceforge.media.video import read_frames
from faceforge.types import Face

THUMBNAIL_SIZE = 128
_MARGIN = 0.6  # of the face box, on each side: enough context for the detector to find it again


@dataclass(frozen=True, slots=True)
class TargetFace:
    """One face found in the shown frame: where it is and the crop that identifies it."""

    box: tuple[float, float, float, float]
    crop: np.ndarray  # uint8 RGB, the face with a margin (the reference photo)
    thumbnail: np.ndarray


def target_frame(path: Path, index: int = 0, max_pixels: int | None = None) -> np.ndarray:
    """The image itself, or frame ``index`` of a video (decoded up to it)."""
    if is_image_path(path):
        return read_image(path) if max_pixels is None else read_image(path, max_pixels=max_pixels)
    frames = read_frames(path) if max_pixels is None else read_frames(path, max_pixels=max_pixels)
    try:
        for frame in frames:
            if frame.index == index:
                return frame.image
    finally:
        frames.close()
    raise InputError(f"{path.name} has no frame {index}.")


def _crop(image: np.ndarray, face: Face) -> np.ndarray:
    x0, y0, x1, y1 = (float(v) for v in face.box)
    pad = _MARGIN * max(x1 - x0, y1 - y0)
    h, w = image.shape[:2]
    left, top = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    right, bottom = min(w, int(np.ceil(x1 + pad))), min(h, int(np.ceil(y1 + pad)))
    return np.ascontiguousarray(image[top:bottom, left:right])


def _thumbnail(crop: np.ndarray) -> np.ndarray:
    import cv2

    h, w = crop.shape[:2]
    scale = THUMBNAIL_SIZE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def find_target_faces(analyser: FaceAnalyser, image: np.ndarray) -> list[TargetFace]:
    """The faces of ``image`` from left to right (the order ``--face-index`` counts in)."""
    faces = sorted(analyser.faces(image), key=lambda f: float(f.box[0] + f.box[2]))
    found = []
    for face in faces:
        crop = _crop(image, face)
        box = tuple(float(v) for v in face.box)
        found.append(TargetFace(box, crop, _thumbnail(crop)))  # type: ignore[arg-type]
    return found


@dataclass(frozen=True, slots=True)
class FaceChoice:
    """Which target faces are swapped and with which source: face position -> source index."""

    assigned: tuple[tuple[int, int], ...] = ()

    def toggled(self, face: int, source: int) -> FaceChoice:
        """Clicking a face gives it ``source``; clicking it again with the same source unselects it."""
        current = dict(self.assigned)
        if current.get(face) == source:
            del current[face]
        else:
            current[face] = source
        return FaceChoice(tuple(sorted(current.items())))

    def describe(self, sources: int) -> str:
        if not self.assigned:
            return "No face clicked: the largest face is swapped."
        parts = [
            f"face {face + 1} ← source {source + 1}" if sources > 1 else f"face {face + 1}"
            for face, source in self.assigned
        ]
        return "Swapping " + ", ".join(parts) + "."


def references_for(
    choice: FaceChoice, faces: list[TargetFace], sources: list[Path]
) -> tuple[list[list[Path]], list[np.ndarray] | None]:
    """The session's sources and references for a choice (``--map`` semantics): one source person per
    clicked face, with that face's crop as the reference; no click means the largest face."""
    if not choice.assigned:
        if len(sources) > 1:
            raise InputError("With several source photos, click the target face each one replaces.")
        return [[sources[0]]], None
    people: list[list[Path]] = []
    references: list[np.ndarray] = []
    for face, source in choice.assigned:
        if face >= len(faces) or source >= len(sources):
            raise InputError("The face choice no longer matches the target; click the faces again.")
        people.append([sources[source]])
        references.append(faces[face].crop)
    return people, references
