"""Training augmentation of aligned face crops: numpy and OpenCV only (it runs in data-loader workers).

One call of :func:`augment` turns a stored crop into the model's pair of images:

1. a random similarity (rotation ``±rotate_deg``, zoom ``1 ± zoom``, shift ``± shift`` of the size, and a
   horizontal mirror with probability ``flip``) composed with the crop's coverage region, applied once;
   the landmarks go through the same matrix, so masks drawn from them follow every flip and rotation;
2. a LAB colour jitter: each of L, a, b pushed toward its top (or bottom) by a random fraction up to
   ``color_lab`` (faceswap's scheme), on both images alike;
3. the **input only** is then deformed: with probability ``warp_to_landmarks`` (and when another face's
   landmarks are given) by a piecewise-linear warp that moves this face's landmarks onto the other face's
   (Dfaker's warp to landmarks), otherwise, with ``random_warp``, by faceswap's classic random warp: a 5x5
   grid over the image, each node moved by N(0, 5/256 of the size), interpolated bilinearly to a dense map.
   The target stays unwarped: the model learns to undo the warp.

Images are ``uint8`` RGB ``HxWx3``; landmarks ``(N, 2+)`` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceforge.errors import OptionError
from faceforge.geometry import landmark_regions as regions
from faceforge.geometry.mesh_warp import delaunay_triangles, mesh_warp

WARP_STD = 5.0 / 256.0  # faceswap's random-warp jitter: 5 px at 256 px
WARP_GRID = 5
# Landmarks the warp to landmarks follows: outline, brows, eyes, lips, nose bridge and tip.
WARP_POINTS = np.unique(
    np.concatenate(
        [
            regions.FACE_OVAL,
            regions.LEFT_EYEBROW,
            regions.RIGHT_EYEBROW,
            regions.LEFT_EYE,
            regions.RIGHT_EYE,
            regions.MOUTH_OUTER,
            (1, 4, 5, 6, 168, 197, 195),
        ]
    )
)


@dataclass(frozen=True, slots=True)
class AugmentOptions:
    """Probabilities and ranges of the training augmentation (see the module docstring)."""

    flip: float = 0.5
    rotate_deg: float = 10.0
    zoom: float = 0.05
    shift: float = 0.05
    random_warp: bool = True
    warp_to_landmarks: float = 0.0
    color_lab: float = 0.05

    def __post_init__(self) -> None:
        for name in ("flip", "warp_to_landmarks"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise OptionError(f"The {name.replace('_', ' ')} probability must be between 0 and 1.")
        if min(self.rotate_deg, self.zoom, self.shift, self.color_lab) < 0:
            raise OptionError("Rotation, zoom, shift and colour ranges must not be negative.")
        if self.zoom >= 1:
            raise OptionError("The zoom range must be below 1.")


#: No augmentation at all: what previews and fixed samples use.
NO_AUGMENT = AugmentOptions(
    flip=0.0, rotate_deg=0.0, zoom=0.0, shift=0.0, random_warp=False, warp_to_landmarks=0.0, color_lab=0.0
)


def random_affine(rng: np.random.Generator, options: AugmentOptions, size: int) -> np.ndarray:
    """A random ``3x3`` similarity (and mirror) of a ``size``-px square about its centre."""
    centre = (size - 1) / 2.0
    angle = rng.uniform(-options.rotate_deg, options.rotate_deg) if options.rotate_deg else 0.0
    scale = rng.uniform(1.0 - options.zoom, 1.0 + options.zoom) if options.zoom else 1.0
    shift = rng.uniform(-options.shift, options.shift, 2) * size if options.shift else np.zeros(2)
    matrix = np.eye(3)
    matrix[:2] = cv2.getRotationMatrix2D((centre, centre), angle, scale)
    matrix[:2, 2] += shift
    if options.flip and rng.random() < options.flip:
        matrix = np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ matrix
    return matrix


def jitter_lab(image: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Each LAB channel moved toward 255 (positive draw) or 0 (negative) by a fraction in ``±amplitude``."""
    if amplitude <= 0:
        return image
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    for channel, amount in enumerate(rng.uniform(-amplitude, amplitude, 3)):
        values = lab[..., channel]
        lab[..., channel] = values + (255.0 - values) * amount if amount >= 0 else values * (1.0 + amount)
    return cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _interpolation(size: int, nodes: int) -> np.ndarray:
    """``(size, nodes)`` matrix of linear interpolation weights from ``nodes`` evenly spaced samples."""
    position = np.linspace(0.0, nodes - 1.0, size)
    low = np.minimum(np.floor(position).astype(int), nodes - 2)
    frac = position - low
    weights = np.zeros((size, nodes))
    weights[np.arange(size), low] = 1.0 - frac
    weights[np.arange(size), low + 1] = frac
    return weights


def _spread(weights: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``weights @ grid @ weights.T`` as float32, with einsum: these products are tiny, and numpy's BLAS
    threads spin for tens of milliseconds on them when the cores are busy (as in loader workers)."""
    return np.einsum("il,jl->ij", np.einsum("ik,kl->il", weights, grid), weights).astype(np.float32)


def random_warp(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """faceswap's random warp: a jittered 5x5 control grid, interpolated bilinearly, applied by remap."""
    size = image.shape[0]
    nodes = np.linspace(0.0, size - 1.0, WARP_GRID)
    grid_x = np.broadcast_to(nodes, (WARP_GRID, WARP_GRID)) + rng.normal(0.0, WARP_STD * size, (5, 5))
    grid_y = np.broadcast_to(nodes[:, None], (WARP_GRID, WARP_GRID)) + rng.normal(
        0.0, WARP_STD * size, (5, 5)
    )
    weights = _interpolation(size, WARP_GRID)
    map_x, map_y = _spread(weights, grid_x), _spread(weights, grid_y)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def landmark_warp(image: np.ndarray, source: np.ndarray, destination: np.ndarray) -> np.ndarray:
    """Warp ``image`` so that the points ``source`` (pixels) land on ``destination``: piecewise affine over
    the Delaunay triangles of the destination points (:func:`~faceforge.geometry.mesh_warp.mesh_warp`), with
    the image's corners and edge midpoints held still so the triangles cover the whole image."""
    size = image.shape[0]
    edge = np.array([0.0, (size - 1) / 2.0, size - 1.0])
    anchors = np.array([(x, y) for x in edge for y in edge if x != edge[1] or y != edge[1]])
    dst = np.concatenate([destination[:, :2], anchors])
    src = np.concatenate([source[:, :2], anchors])
    warped, _ = mesh_warp(image, src, dst, delaunay_triangles(dst), (size, size))
    return warped


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interpolation)


def augment(
    image: np.ndarray,
    landmarks: np.ndarray,
    region: np.ndarray,
    options: AugmentOptions,
    rng: np.random.Generator,
    input_size: int,
    output_size: int,
    other_landmarks: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's ``(input, target, target_landmarks)`` from one crop.

    ``region`` (2x3) maps ``image`` pixels to the working square of ``max(input_size, output_size)``
    pixels (the dataset's coverage crop). ``landmarks`` and ``other_landmarks`` are in ``image`` pixels;
    the returned landmarks ``(N, 2)`` are in target pixels. With :data:`NO_AUGMENT` and an identity
    ``region`` on a ``work``-px image, target and input are the image itself (resized)."""
    work = max(input_size, output_size)
    matrix = (random_affine(rng, options, work) @ np.vstack([region, (0.0, 0.0, 1.0)]))[:2]
    if image.shape[0] == work and np.allclose(matrix, np.eye(3)[:2]):
        view = image
    else:
        view = cv2.warpAffine(
            image, matrix, (work, work), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
        )
    view = jitter_lab(view, rng, options.color_lab)
    points = landmarks[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    warped = view
    if other_landmarks is not None and options.warp_to_landmarks and rng.random() < options.warp_to_landmarks:
        other = other_landmarks[:, :2] @ matrix[:, :2].T + matrix[:, 2]
        warped = landmark_warp(view, points[WARP_POINTS], other[WARP_POINTS])
    elif options.random_warp:
        warped = random_warp(view, rng)
    target_points = (points + 0.5) * (output_size / work) - 0.5
    return _resize(warped, input_size), _resize(view, output_size), target_points.astype(np.float32)
