"""Soft face masks built from FaceMesh landmarks.

Every masker takes ``(landmarks, shape, **options)`` and returns a ``float32`` ``(H, W)`` mask in
``[0, 1]``. Erosion and feathering are given as fractions of the face size (the square root of the
face-oval area, in pixels), so a 64-px and a 512-px face get the same relative softness. The
rasterising, erosion and blurring run only on the face's bounding box plus the blur margin, so a mask
for a small face in a large frame costs about what it costs in a crop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from faceforge.geometry import landmark_regions as regions

DEFAULT_LIFT = 0.25
DEFAULT_ERODE = 0.02  # erosion radius, fraction of the face size
DEFAULT_FEATHER = 0.04  # Gaussian sigma of the edge, fraction of the face size
_CUT_DILATE = 0.015  # how far mouth and eye cut-outs reach past their contour
_CUT_FEATHER = 0.01  # sigma of the cut-outs' own edge
_SHIFT = 4  # sub-pixel bits for cv2 polygon rasterising

_OVAL = np.array(regions.FACE_OVAL)
_MOUTH_OUTER = np.array(regions.MOUTH_OUTER)
_MOUTH_INNER = np.array(regions.MOUTH_INNER)
_EYES = (np.array(regions.LEFT_EYE), np.array(regions.RIGHT_EYE))
_BROWS = (np.array(regions.LEFT_EYEBROW), np.array(regions.RIGHT_EYEBROW))


class LandmarkMaskFn(Protocol):
    """A mask drawn from landmarks alone; :mod:`faceforge.compose.maskers` wraps these as face maskers."""

    def __call__(
        self,
        landmarks: np.ndarray,
        shape: tuple[int, ...],
        *,
        lift_eyebrows: float = DEFAULT_LIFT,
        erode: float = DEFAULT_ERODE,
        feather: float = DEFAULT_FEATHER,
        exclude_mouth: bool = False,
        exclude_eyes: bool = False,
    ) -> np.ndarray: ...


def _points(landmarks: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] < 468 or points.shape[1] < 2:
        raise ValueError(f"expected FaceMesh landmarks of shape (468 or 478, 2 or 3), got {points.shape}")
    return points[:, :2]


def face_size(landmarks: np.ndarray) -> float:
    """Square root of the face-oval area: a rotation-invariant size in pixels."""
    oval = _points(landmarks)[_OVAL]
    x, y = oval[:, 0], oval[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    return math.sqrt(area)


def lifted_oval(landmarks: np.ndarray, lift_eyebrows: float = DEFAULT_LIFT) -> np.ndarray:
    """The face-oval polygon ``(36, 2)`` with its part above the eyebrows raised to cover the forehead.

    "Up" is the face's own up (perpendicular to the eye line, away from the mouth), so rolled faces are
    lifted along their axis. A point's lift ramps from 0 at the brow line to ``lift_eyebrows`` times the
    brow-to-eye distance one brow-to-eye distance above it, which keeps the contour smooth.
    """
    points = _points(landmarks)
    oval = points[_OVAL].copy()
    if lift_eyebrows == 0:
        return oval
    eyes = np.array([points[eye].mean(axis=0) for eye in _EYES])
    brows = np.array([points[brow].mean(axis=0) for brow in _BROWS])
    axis = eyes[0] - eyes[1]
    up = np.array([axis[1], -axis[0]]) / max(float(np.linalg.norm(axis)), 1e-6)
    if np.dot(eyes.mean(axis=0) - points[_MOUTH_OUTER].mean(axis=0), up) < 0:
        up = -up
    brow_to_eye = max(float(np.mean((brows - eyes) @ up)), 1e-3)
    height = oval @ up - float(np.mean(brows @ up))
    ramp = np.clip(height / brow_to_eye, 0.0, 1.0)
    return oval + (lift_eyebrows * brow_to_eye * ramp)[:, None] * up


def _window(polygon: np.ndarray, margin: int, height: int, width: int) -> tuple[int, int, int, int]:
    x0 = max(math.floor(polygon[:, 0].min()) - margin, 0)
    y0 = max(math.floor(polygon[:, 1].min()) - margin, 0)
    x1 = min(math.ceil(polygon[:, 0].max()) + margin + 1, width)
    y1 = min(math.ceil(polygon[:, 1].max()) + margin + 1, height)
    return x0, y0, x1, y1


def _fill(canvas: np.ndarray, polygons: list[np.ndarray], origin: tuple[int, int]) -> None:
    scaled = [np.round((p - origin) * (1 << _SHIFT)).astype(np.int32) for p in polygons]
    cv2.fillPoly(canvas, scaled, 255, lineType=cv2.LINE_AA, shift=_SHIFT)


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _soften(hard: np.ndarray, erode_px: float, sigma_px: float) -> np.ndarray:
    """Erode (negative: dilate) a uint8 mask, then feather it; returns float32 in [0, 1]."""
    radius = round(abs(erode_px))
    if radius > 0:
        op = cv2.erode if erode_px > 0 else cv2.dilate
        hard = op(hard, _disc(radius))
    soft: np.ndarray = hard.astype(np.float32) * np.float32(1 / 255)
    if sigma_px > 0.3:
        soft = cv2.GaussianBlur(soft, (0, 0), sigma_px, borderType=cv2.BORDER_CONSTANT)
    return soft


def _build(
    landmarks: np.ndarray,
    shape: tuple[int, ...],
    outline: np.ndarray,
    draw: Callable[[np.ndarray, tuple[int, int]], None],
    *,
    erode: float,
    feather: float,
    exclude_mouth: bool,
    exclude_eyes: bool,
) -> np.ndarray:
    """Rasterise ``outline`` with ``draw(canvas, origin)`` on a window, soften it, cut the holes out."""
    height, width = int(shape[0]), int(shape[1])
    points = _points(landmarks)
    size = face_size(landmarks)
    erode_px, sigma_px = erode * size, feather * size
    margin = math.ceil(4 * sigma_px + max(-erode_px, 0)) + 2
    x0, y0, x1, y1 = _window(outline, margin, height, width)
    mask = np.zeros((height, width), np.float32)
    if x1 <= x0 or y1 <= y0:
        return mask
    origin = (x0, y0)
    hard = np.zeros((y1 - y0, x1 - x0), np.uint8)
    draw(hard, origin)
    soft = _soften(hard, erode_px, sigma_px)

    holes = ([points[_MOUTH_INNER]] if exclude_mouth else []) + (
        [points[eye] for eye in _EYES] if exclude_eyes else []
    )
    if holes:
        cut = np.zeros_like(hard)
        _fill(cut, holes, origin)
        soft *= 1.0 - _soften(cut, -_CUT_DILATE * size, _CUT_FEATHER * size)
    mask[y0:y1, x0:x1] = soft
    return mask


def face_mask(
    landmarks: np.ndarray,
    shape: tuple[int, ...],
    *,
    lift_eyebrows: float = DEFAULT_LIFT,
    erode: float = DEFAULT_ERODE,
    feather: float = DEFAULT_FEATHER,
    exclude_mouth: bool = False,
    exclude_eyes: bool = False,
) -> np.ndarray:
    """The filled face oval (forehead lifted), eroded and feathered in proportion to the face size.

    ``exclude_mouth`` cuts the slightly dilated mouth opening out, so the target's teeth and tongue stay;
    ``exclude_eyes`` cuts the eyes out, so the target's gaze stays. The cut-outs have their own small
    feather.
    """
    outline = lifted_oval(landmarks, lift_eyebrows)
    return _build(
        landmarks,
        shape,
        outline,
        lambda canvas, origin: _fill(canvas, [outline], origin),
        erode=erode,
        feather=feather,
        exclude_mouth=exclude_mouth,
        exclude_eyes=exclude_eyes,
    )


def box_mask(
    landmarks: np.ndarray,
    shape: tuple[int, ...],
    *,
    lift_eyebrows: float = DEFAULT_LIFT,
    erode: float = DEFAULT_ERODE,
    feather: float = DEFAULT_FEATHER,
    exclude_mouth: bool = False,
    exclude_eyes: bool = False,
) -> np.ndarray:
    """An ellipse fitted to the (lifted) face oval, feathered: smoother and more forgiving of bad
    landmarks than the polygon, at the cost of a little background at the jaw."""
    outline = lifted_oval(landmarks, lift_eyebrows)
    (cx, cy), (w, h), angle = cv2.fitEllipse(outline.astype(np.float32))
    half = 0.5 * max(w, h)
    box = np.array([[cx - half, cy - half], [cx + half, cy + half]])

    def draw(canvas: np.ndarray, origin: tuple[int, int]) -> None:
        centre = (float(cx - origin[0]), float(cy - origin[1]))
        cv2.ellipse(canvas, (centre, (float(w), float(h)), float(angle)), 255, -1, cv2.LINE_AA)

    return _build(
        landmarks,
        shape,
        box,
        draw,
        erode=erode,
        feather=feather,
        exclude_mouth=exclude_mouth,
        exclude_eyes=exclude_eyes,
    )


def skin_mask(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Bare skin of the face, ``uint8`` {0, 255}: the face oval without eyes, brows and lips (each grown a
    little). Colour statistics taken here describe skin tone, not eye whites, brows or lipstick."""
    height, width = int(shape[0]), int(shape[1])
    points = _points(landmarks)
    skin = np.zeros((height, width), np.uint8)
    _fill(skin, [points[_OVAL]], (0, 0))
    features: np.ndarray = np.zeros_like(skin)
    _fill(
        features,
        [points[eye] for eye in _EYES] + [points[brow] for brow in _BROWS] + [points[_MOUTH_OUTER]],
        (0, 0),
    )
    grow = max(round(_CUT_DILATE * 2 * face_size(landmarks)), 1)
    features = cv2.dilate(features, _disc(grow))
    skin[features > 0] = 0
    return skin


def combine_masks(*masks: np.ndarray) -> np.ndarray:
    """Element-wise minimum: a pixel is kept only where every mask keeps it."""
    if not masks:
        raise ValueError("combine_masks needs at least one mask")
    return np.minimum.reduce([np.asarray(m, dtype=np.float32) for m in masks])
