"""Alignment of faces to a swapper's template: a similarity transform fitted to five landmarks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceforge.geometry.similarity import umeyama
from faceforge.types import AlignedFace, Face

# Five anchor points from the FaceMesh: eye centres from the eye corners (stable when the gaze moves),
# nose tip, mouth corners. Each is the mean of the listed mesh indices.
FIVE_POINT_MESH = ((33, 133), (263, 362), (1,), (61,), (291,))

# ArcFace's 112-px template (subject's right eye, left eye, nose tip, right mouth corner, left mouth corner),
# normalised to the unit square: InsightFace's ``arcface_dst``, facefusion's "arcface_112_v2".
ARCFACE_POINTS = (
    np.array(
        [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
        dtype=np.float64,
    )
    / 112.0
)
# InsightFace 0.2.1's frontal multi-pose template in the same order (facefusion's "arcface_112_v1"): the crop
# SimSwap and GHOST ONNX models are fed, scaled to 256.
ARCFACE_112_V1_POINTS = (
    np.array(
        [[39.730, 51.138], [72.270, 51.138], [56.000, 68.493], [42.463, 87.010], [69.537, 87.010]],
        dtype=np.float64,
    )
    / 112.0
)
# ``arcface_dst`` moved 8 px right inside a 128 crop (InsightFace's estimate_norm at 128): inswapper's crop.
ARCFACE_128_POINTS = (ARCFACE_POINTS * 112.0 + np.array([8.0, 0.0])) / 128.0


@dataclass(frozen=True, slots=True)
class Template:
    """Where the five anchor points land in a unit-square crop."""

    name: str
    points: np.ndarray  # (5, 2) in [0, 1]

    def scaled(self, size: int) -> np.ndarray:
        return self.points * size


def _zoomed(points: np.ndarray, zoom: float, shift_y: float = 0.0) -> np.ndarray:
    """Template points moved toward the centre, leaving room for forehead, jaw and a blending margin."""
    return (points - 0.5) * zoom + 0.5 + np.array([0.0, shift_y])


_ARCFACE_112_V2 = Template("arcface_112_v2", ARCFACE_POINTS)

TEMPLATES: dict[str, Template] = {
    "arcface": _ARCFACE_112_V2,  # the short name facesets record; the same template as arcface_112_v2
    "arcface_112_v1": Template("arcface_112_v1", ARCFACE_112_V1_POINTS),
    "arcface_112_v2": _ARCFACE_112_V2,
    "arcface_128": Template("arcface_128", ARCFACE_128_POINTS),
    # The whole head outline plus a margin: what mesh and autoencoder swappers need.
    "full-face": Template("full-face", _zoomed(ARCFACE_POINTS, 0.62, -0.02)),
}


def anchor_points(landmarks: np.ndarray) -> np.ndarray:
    """The five anchor points ``(5, 2)`` from ``(478, 2|3)`` landmarks."""
    return np.stack([landmarks[list(idx), :2].mean(axis=0) for idx in FIVE_POINT_MESH]).astype(np.float64)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking 2-D ``src`` points to
    ``dst`` (:func:`~faceforge.geometry.similarity.umeyama`), as a 2x3 matrix."""
    scale, rotation, translation = umeyama(src, dst)
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = translation
    return matrix


def transform_landmarks(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 similarity to ``(N, 3)`` landmarks; z is scaled by the same factor as x and y."""
    out = np.empty_like(landmarks, dtype=np.float32)
    out[:, :2] = landmarks[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    if landmarks.shape[1] > 2:
        out[:, 2:] = landmarks[:, 2:] * np.sqrt(abs(np.linalg.det(matrix[:, :2])))
    return out


def align_face(image: np.ndarray, face: Face, template: Template, size: int) -> AlignedFace:
    """Crop and warp ``face`` into ``template`` at ``size`` pixels."""
    matrix = similarity_transform(anchor_points(face.landmarks), template.scaled(size))
    crop = cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
    )
    return AlignedFace(
        image=crop, matrix=matrix, landmarks=transform_landmarks(face.landmarks, matrix), face=face
    )
