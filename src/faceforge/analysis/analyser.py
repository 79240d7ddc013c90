"""One call from an image to its faces: detection, then landmarks on each face's crop.

The detector and the landmarker are registered components (``register_detector``,
``register_landmarker``; entry-point groups ``faceforge.detectors`` and ``faceforge.landmarkers``) named
by ``AnalysisOptions.detector`` and ``.landmarker``; MediaPipe's BlazeFace and FaceMesh are the built-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from faceforge.analysis.detection import DetectionOptions, MediaPipeDetector
from faceforge.analysis.identity import IdentityEncoder, create_identity_encoder
from faceforge.analysis.landmarks import FaceMeshLandmarker, LandmarkOptions
from faceforge.geometry.boxes import box_iou, landmark_box
from faceforge.native_logs import quiet_native_logs
from faceforge.options import option
from faceforge.plugins import Registry
from faceforge.types import Detection, Face


class Detector(Protocol):
    """Finds faces; ``tiles`` (indices below ``tile_count``) limits a scan of a large image to those tiles."""

    def detect(self, image: np.ndarray, tiles: Iterable[int] | None = None) -> list[Detection]: ...

    def tile_count(self, height: int, width: int) -> int: ...

    def close(self) -> None: ...


class Landmarker(Protocol):
    """Dense landmarks ``(478, 3)`` in frame pixels of the face in ``box`` (None when none is found)."""

    def landmarks(self, image: np.ndarray, box: np.ndarray, margin: float) -> np.ndarray | None: ...

    def close(self) -> None: ...


DetectorFactory = Callable[[DetectionOptions], Detector]
LandmarkerFactory = Callable[[LandmarkOptions], Landmarker]
DETECTORS: Registry[DetectorFactory] = Registry("detector", "faceforge.detectors")
DETECTORS.register("mediapipe", MediaPipeDetector)
LANDMARKERS: Registry[LandmarkerFactory] = Registry("landmarker", "faceforge.landmarkers")
LANDMARKERS.register("mediapipe", FaceMeshLandmarker)


def register_detector(name: str, factory: DetectorFactory) -> None:
    DETECTORS.register(name, factory)


def register_landmarker(name: str, factory: LandmarkerFactory) -> None:
    LANDMARKERS.register(name, factory)


def registered_detector(name: str, factory: DetectorFactory) -> AbstractContextManager[DetectorFactory]:
    """``factory`` registered as detector ``name`` for a ``with`` block (tests)."""
    return DETECTORS.registered(name, factory)


def registered_landmarker(name: str, factory: LandmarkerFactory) -> AbstractContextManager[LandmarkerFactory]:
    """``factory`` registered as landmarker ``name`` for a ``with`` block (tests)."""
    return LANDMARKERS.registered(name, factory)


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    detection: DetectionOptions = field(default_factory=DetectionOptions)
    landmarks: LandmarkOptions = field(default_factory=LandmarkOptions)
    detector: str = option(
        "mediapipe", help="The face detector (a registered name).", choices=DETECTORS.names
    )
    landmarker: str = option(
        "mediapipe", help="The dense landmarker (a registered name).", choices=LANDMARKERS.names
    )


class FaceAnalyser:
    """Finds faces with dense landmarks; computes identity descriptors on request.

    Owns its MediaPipe graphs (not thread-safe); the identity network is loaded on first use because
    most video frames never need it.
    """

    def __init__(
        self, options: AnalysisOptions | None = None, identity: IdentityEncoder | None = None
    ) -> None:
        self.options = options or AnalysisOptions()
        quiet_native_logs()  # MediaPipe's C++ start-up chatter, off a terminal (real errors still show)
        self.detector = DETECTORS.get(self.options.detector)(self.options.detection)
        try:
            self.landmarker = LANDMARKERS.get(self.options.landmarker)(self.options.landmarks)
        except BaseException:
            self.detector.close()
            raise
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
