"""Source photos to a ``SourceIdentity``: the largest face of each photo, identities averaged."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.errors import NoFaceError
from faceforge.media.images import read_image
from faceforge.types import Face, SourceIdentity


def main_face(analyser: FaceAnalyser, image: np.ndarray, label: str) -> Face:
    """The largest face in an image, with its identity descriptor."""
    faces = analyser.faces(image)
    if not faces:
        raise NoFaceError(f"No face was found in {label}.")
    return analyser.embed(image, faces[:1])[0]


def load_identity(
    analyser: FaceAnalyser, photos: Sequence[Path | np.ndarray], name: str = "source"
) -> SourceIdentity:
    """Analyse one or more photos of one person."""
    if not photos:
        raise ValueError("At least one source photo is needed.")
    views = []
    for photo in photos:
        if isinstance(photo, np.ndarray):
            image, label = photo, f"the {name} image"
        else:
            image, label = read_image(Path(photo)), f"the {name} photo {photo}"
        views.append((image, main_face(analyser, image, label)))
    embeddings = np.stack([face.embedding for _, face in views if face.embedding is not None])
    return SourceIdentity(views=tuple(views), embedding=embeddings.mean(axis=0), name=name)
