"""Real faces for the compose tests: MediaPipe FaceMesh landmarks and a 256-px similarity crop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceforge.types import AlignedFace, Face

TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata"
CROP = 256
# Template for the crop: eye centres (468, 473), nose tip (1), mouth corners (61, 291), as fractions.
_TEMPLATE_IDS = [468, 473, 1, 61, 291]
_TEMPLATE = np.array([[0.38, 0.42], [0.62, 0.42], [0.50, 0.55], [0.41, 0.68], [0.59, 0.68]]) * CROP


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # RGB uint8
    landmarks: np.ndarray  # (478, 3) frame pixels
    aligned: AlignedFace


def load_rgb(name: str) -> np.ndarray:
    path = TESTDATA / name
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"test media missing or unreadable: {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def align(image: np.ndarray, landmarks: np.ndarray, size: int = CROP) -> AlignedFace:
    points = landmarks[_TEMPLATE_IDS, :2].astype(np.float32)
    matrix, _ = cv2.estimateAffinePartial2D(points, (_TEMPLATE * size / CROP).astype(np.float32))
    crop = cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    crop_landmarks = np.empty_like(landmarks)
    crop_landmarks[:, :2] = landmarks[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    crop_landmarks[:, 2] = landmarks[:, 2] * scale
    box = np.concatenate([landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)]).astype(np.float32)
    face = Face(box=box, score=1.0, landmarks=landmarks.astype(np.float32))
    return AlignedFace(image=crop, matrix=matrix, landmarks=crop_landmarks.astype(np.float32), face=face)


def mesh_landmarks(images: list[np.ndarray]) -> list[np.ndarray]:
    """FaceMesh's (478, 3) landmarks in pixels of the one face in each image."""
    from mediapipe.python.solutions.face_mesh import FaceMesh

    out = []
    with FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as mesh:
        for image in images:
            result = mesh.process(image)
            assert result.multi_face_landmarks, "FaceMesh found no face"
            h, w = image.shape[:2]
            marks = result.multi_face_landmarks[0].landmark
            out.append(np.array([[p.x * w, p.y * h, p.z * w] for p in marks], dtype=np.float32))
    return out


def video_frame(name: str, index: int) -> np.ndarray:
    """Frame ``index`` of a test clip, as RGB uint8."""
    import av

    with av.open(str(TESTDATA / name)) as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number == index:
                return frame.to_ndarray(format="rgb24")
    raise IndexError(f"{name} has no frame {index}")


@pytest.fixture(scope="session")
def samples() -> dict[str, Sample]:
    names = ["face_frontal_a.jpg", "face_frontal_b.jpg", "face_lookup_g.jpg", "face_grayscale_d.jpg"]
    images = [load_rgb(name) for name in names]
    out: dict[str, Sample] = {}
    for name, image, landmarks in zip(names, images, mesh_landmarks(images), strict=True):
        out[name.split(".")[0]] = Sample(image, landmarks, align(image, landmarks))
    return out


@pytest.fixture(scope="session")
def read_rgb():
    """``read_rgb(name)``: a test image from the shared test media, as RGB uint8."""
    return load_rgb


@pytest.fixture(scope="session")
def aligner():
    """``aligner(image, landmarks, size=256)``: the test's similarity crop as an AlignedFace."""
    return align
