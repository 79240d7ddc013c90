"""The training crops of a LoRA: each source photo cropped around its one face with about as much margin
again, rotated so the eyes are level (roll from the FaceMesh iris centres), resized to the training size,
and captioned (diffusion/captions.py)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.errors import NoFaceError
from faceforge.media.images import read_image
from faceforge.types import Face

log = logging.getLogger(__name__)

# FaceMesh's iris centres (478-point model): the subject's right eye, then the left.
RIGHT_IRIS = 468
LEFT_IRIS = 473


@dataclass(frozen=True, slots=True)
class TrainingCrop:
    """One aligned, resized crop (uint8 RGB), the photo it came from and its caption."""

    source: Path
    image: np.ndarray
    caption: str


def eye_roll(face: Face) -> float:
    """The roll of the eye line in degrees (0: level; positive: the image's right eye is lower)."""
    right, left = face.points[RIGHT_IRIS], face.points[LEFT_IRIS]
    first, second = (right, left) if right[0] < left[0] else (left, right)
    return math.degrees(math.atan2(second[1] - first[1], second[0] - first[0]))


def aligned_crop(image: np.ndarray, face: Face, size: int, margin: float) -> np.ndarray:
    """A ``size`` x ``size`` crop centred on the face's landmark box, ``1 + margin`` times its larger
    side, turned by the eye roll so the eyes are level. Outside the photo the border is mirrored."""
    low, high = face.points.min(axis=0), face.points.max(axis=0)
    centre = (low + high) / 2
    side = float((high - low).max()) * (1.0 + margin)
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), eye_roll(face), size / side)
    matrix[:, 2] += np.array([size / 2, size / 2]) - centre
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT_101
    )


def one_face(analyser: FaceAnalyser, path: Path, image: np.ndarray) -> Face:
    """The one face of a training photo; a photo with none or several is one sentence."""
    faces = analyser.faces(image)
    if not faces:
        raise NoFaceError(f"No face was found in {path.name}.")
    if len(faces) > 1:
        raise NoFaceError(f"{path.name} shows {len(faces)} faces; a training photo must show one person.")
    return faces[0]


def training_crops(
    photos: Sequence[Path],
    analyser: FaceAnalyser,
    size: int,
    margin: float,
    caption: Callable[[np.ndarray], str],
) -> list[TrainingCrop]:
    """The crops of ``photos``; a photo without exactly one face is skipped with a warning while others
    remain, and none left is an error. ``caption(crop)`` is each crop's caption."""
    crops, skipped = [], []
    for path in photos:
        image = read_image(path)
        try:
            face = one_face(analyser, path, image)
        except NoFaceError as error:
            log.warning("%s It is left out of the training.", error)
            skipped.append(str(error))
            continue
        crop = aligned_crop(image, face, size, margin)
        crops.append(TrainingCrop(path, crop, caption(crop)))
    if not crops:
        raise NoFaceError("None of the training photos shows exactly one face: " + " ".join(skipped))
    return crops
