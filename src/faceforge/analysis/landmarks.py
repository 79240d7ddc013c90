"""Dense face landmarks (MediaPipe FaceMesh, 478 points with irises) on a crop around each face.

FaceMesh misses small faces in large frames, so it never sees the whole frame: each face's region is
cut out, scaled to a fixed size and landmarked there, and the points are mapped back to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceforge.types import LANDMARK_POINTS


@dataclass(frozen=True, slots=True)
class LandmarkOptions:
    crop_size: int = 256  # the face region is resampled to this square before FaceMesh sees it
    detection_margin: float = 2.0  # crop side = margin * detector box side
    track_margin: float = 1.6  # crop side = margin * landmark extent, when following a tracked face
    min_confidence: float = 0.5


def square_crop_matrix(box: np.ndarray, margin: float, size: int) -> np.ndarray:
    """2x3 affine taking frame pixels to a ``size``-square crop centred on ``box``, ``margin`` times its
    longer side."""
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    side = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0) * margin
    scale = size / side
    return np.array(
        [[scale, 0.0, size / 2.0 - scale * cx], [0.0, scale, size / 2.0 - scale * cy]], dtype=np.float64
    )


class FaceMeshLandmarker:
    """478-point FaceMesh on per-face crops. Holds one MediaPipe graph; not thread-safe."""

    name = "mediapipe-facemesh"

    def __init__(self, options: LandmarkOptions | None = None) -> None:
        from mediapipe.python.solutions import face_mesh

        self.options = options or LandmarkOptions()
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=self.options.min_confidence,
        )

    def __enter__(self) -> FaceMeshLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._mesh.close()

    def landmarks(self, image: np.ndarray, box: np.ndarray, margin: float) -> np.ndarray | None:
        """Landmarks ``(478, 3)`` in frame pixels for the face inside ``box``, or None if FaceMesh finds
        no face there (or finds a neighbour's face instead)."""
        size = self.options.crop_size
        matrix = square_crop_matrix(box, margin, size)
        crop = cv2.warpAffine(
            image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        result = self._mesh.process(crop)
        if not result.multi_face_landmarks:
            return None
        marks = result.multi_face_landmarks[0].landmark
        if len(marks) != LANDMARK_POINTS:
            return None
        crop_points = np.array([(p.x * size, p.y * size, p.z * size) for p in marks], dtype=np.float64)
        scale = matrix[0, 0]
        points = np.empty((LANDMARK_POINTS, 3), dtype=np.float32)
        points[:, 0] = (crop_points[:, 0] - matrix[0, 2]) / scale
        points[:, 1] = (crop_points[:, 1] - matrix[1, 2]) / scale
        points[:, 2] = crop_points[:, 2] / scale
        if not _centre_inside(points, box):
            return None
        return points


def _centre_inside(points: np.ndarray, box: np.ndarray) -> bool:
    """True when the mesh's centre lies inside the box it was asked about: a crop around one face of a
    group often holds part of another, and FaceMesh may lock onto that one."""
    cx, cy = points[:, :2].mean(axis=0)
    return bool(box[0] <= cx <= box[2] and box[1] <= cy <= box[3])
