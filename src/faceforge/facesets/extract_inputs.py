"""What an extraction reads besides its settings: the input files (named, or found in folders) and the
reference person whose faces alone are kept."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.errors import InputError, NoFaceError
from faceforge.media.images import is_image_path
from faceforge.media.video import is_video_path


@dataclass(frozen=True, slots=True)
class Reference:
    embedding: np.ndarray
    threshold: float

    @property
    def digest(self) -> str:
        return hashlib.sha256(np.round(self.embedding, 4).astype("<f4").tobytes()).hexdigest()[:16]


def expand_inputs(inputs: Sequence[Path], exclude: Path | None = None) -> list[Path]:
    """Images and videos named or found (recursively, sorted) in named folders; ``exclude`` is skipped."""
    found: list[Path] = []
    skip = exclude.resolve() if exclude is not None else None
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            for path in sorted(item.rglob("*")):
                inside = skip is not None and (path.resolve() == skip or skip in path.resolve().parents)
                if path.is_file() and not inside and (is_image_path(path) or is_video_path(path)):
                    found.append(path)
        elif not item.exists():
            raise InputError(f"Cannot read {item}: the file does not exist.")
        elif is_image_path(item) or is_video_path(item):
            found.append(item)
        else:
            raise InputError(f"Cannot read {item}: it is neither an image nor a video faceforge reads.")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise InputError("No image or video was found in the given inputs.")
    return unique


def load_reference(analyser: FaceAnalyser, photos: Sequence[Path], threshold: float) -> Reference:
    from faceforge.analysis.sources import load_identity

    identity = load_identity(analyser, list(photos), name="reference")
    if identity.embedding is None:
        raise NoFaceError("No face with an identity was found in the reference photos.")
    return Reference(identity.embedding.astype(np.float32), threshold)
