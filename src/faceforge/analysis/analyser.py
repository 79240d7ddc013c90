"""One call from an image to its faces: detection, then landmarks on each face's crop."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from faceforge.analysis.detection import DetectionOptions, MediaPipeDetector
from faceforge.analysis.identity import IdentityEncoder, create_identity_encoder
from faceforge.analysis.landmarks import FaceMeshLandmarker, LandmarkOptions
from faceforge.geometry.boxes import box_iou, landmark_box
from faceforge.types import Face


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    detection: DetectionOptions = field(default_factory=DetectionOptions)
    landmarks: LandmarkOptions = field(default_factory=LandmarkOptions)


class FaceAnalyser:
    """Finds faces with dense landmarks; computes identity descriptors on request.

    Owns its MediaPipe graphs (not thread-safe); the identity network is loaded on first use because
    most video frames never need it.
    """

    def __init__(
        self, options: AnalysisOptions | None = None, identity: IdentityEncoder | None = None
    ) -> None:
        self.options = options or AnalysisOptions()
        self.detector = MediaPipeDetector(self.options.detection)
        self.landmarker = FaceMeshLandmarker(self.options.landmarks)
        self._identity = identity

    def __enter__(self) -> FaceAnalyser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.detector.close()
        self.landmarker.close()

    @property
    def identity(self) -> IdentityEncoder:
        if self._identity is None:
            self._identity = create_identity_encoder()
        return self._identity

    def faces(self, image: np.ndarray) -> list[Face]:
        """All faces with landmarks, largest first."""
        faces = []
        for det in self.detector.detect(image):
            points = self.landmarker.landmarks(image, det.box, self.options.landmarks.detection_margin)
            if points is not None:
                faces.append(Face(box=landmark_box(points), score=det.score, landmarks=points))
        faces = _drop_duplicates(faces)
        return sorted(faces, key=lambda f: f.size, reverse=True)

    def embed(self, image: np.ndarray, faces: list[Face]) -> list[Face]:
        """The faces with their identity descriptors filled in."""
        if not faces:
            return []
        vectors = self.identity.embed(image, faces)
        return [f.with_(embedding=v) for f, v in zip(faces, vectors, strict=True)]


def _drop_duplicates(faces: list[Face]) -> list[Face]:
    """Two detections (say, a tile's and the whole image's) can land on one face: keep one mesh each."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if kept and box_iou(face.box[None], np.stack([k.box for k in kept]))[0].max() > 0.5:
            continue
        kept.append(face)
    return kept
