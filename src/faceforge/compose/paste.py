"""Pasting a swapped crop back into its frame, touching only the face's region of interest."""

from __future__ import annotations

import math

import cv2
import numpy as np

from faceforge.compose.blend import Blender, alpha_blend

Box = tuple[int, int, int, int]

_MARGIN = 2  # pixels around the warped support: bilinear reach plus a ring of real background


def _frame_box(
    matrix: np.ndarray, rect: tuple[float, float, float, float], frame_shape: tuple[int, ...]
) -> Box:
    """Frame-pixel box ``(x0, y0, x1, y1)``, end exclusive and clipped, covering crop rect ``rect``."""
    cx0, cy0, cx1, cy1 = rect
    corners = np.array([[cx0, cy0], [cx1, cy0], [cx0, cy1], [cx1, cy1]], dtype=np.float64)
    inverse = cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))
    frame_corners = corners @ inverse[:, :2].T + inverse[:, 2]
    height, width = int(frame_shape[0]), int(frame_shape[1])
    x0 = max(math.floor(frame_corners[:, 0].min()) - _MARGIN, 0)
    y0 = max(math.floor(frame_corners[:, 1].min()) - _MARGIN, 0)
    x1 = min(math.ceil(frame_corners[:, 0].max()) + _MARGIN + 1, width)
    y1 = min(math.ceil(frame_corners[:, 1].max()) + _MARGIN + 1, height)
    if x1 <= x0 or y1 <= y0:
        return 0, 0, 0, 0
    return x0, y0, x1, y1


def roi_of(matrix: np.ndarray, crop_size: int | tuple[int, int], frame_shape: tuple[int, ...]) -> Box:
    """The frame region ``(x0, y0, x1, y1)`` (end exclusive, clipped to the frame) a crop maps onto.

    ``matrix`` is the 2x3 frame-to-crop affine; ``crop_size`` is S or ``(height, width)``. A crop lying
    wholly outside the frame gives the empty box ``(0, 0, 0, 0)``.
    """
    ch, cw = (crop_size, crop_size) if isinstance(crop_size, int) else crop_size
    return _frame_box(matrix, (0.0, 0.0, float(cw), float(ch)), frame_shape)


def warp_to_roi(crop: np.ndarray, matrix: np.ndarray, roi: Box, *, border: int) -> np.ndarray:
    """Resample crop-space ``crop`` onto the frame box ``roi`` (bilinear).

    With ``WARP_INVERSE_MAP`` cv2 reads ``dst(u, v) = crop(M @ (u, v, 1))``. The frame-to-crop matrix
    is exactly that map for frame pixels; shifting its translation by ``A @ (x0, y0)`` makes ROI pixel
    ``(u, v)`` read frame pixel ``(u + x0, v + y0)``, so the ROI is produced directly at its own size.
    """
    x0, y0, x1, y1 = roi
    m = np.asarray(matrix, dtype=np.float64)
    shifted = m.copy()
    shifted[:, 2] = m[:, :2] @ np.array([x0, y0], dtype=np.float64) + m[:, 2]
    return cv2.warpAffine(
        crop,
        shifted,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=border,
        borderValue=0,
    )


def paste_back(
    frame: np.ndarray,
    crop: np.ndarray,
    crop_mask: np.ndarray,
    matrix: np.ndarray,
    *,
    blend: Blender = alpha_blend,
) -> np.ndarray:
    """Warp ``crop`` and ``crop_mask`` from crop space into ``frame`` and blend them in; returns a new frame.

    Only the frame box covering the mask's support is resampled and blended, so the cost follows the
    face's size, not the frame's; every pixel outside the mask's support is bit-identical to ``frame``.
    Faces partly outside the frame are clipped.
    """
    if crop.shape[:2] != crop_mask.shape[:2]:
        raise ValueError(f"crop {crop.shape} and mask {crop_mask.shape} differ in size")
    out = frame.copy()
    x, y, w, h = cv2.boundingRect((crop_mask > 0).astype(np.uint8))
    if w == 0 or h == 0:
        return out
    # Bilinear sampling reaches one crop pixel past the support.
    roi = _frame_box(matrix, (x - 1.0, y - 1.0, float(x + w), float(y + h)), frame.shape)
    x0, y0, x1, y1 = roi
    if x1 <= x0 or y1 <= y0:
        return out
    face = warp_to_roi(crop, matrix, roi, border=cv2.BORDER_REPLICATE)
    mask = warp_to_roi(crop_mask.astype(np.float32), matrix, roi, border=cv2.BORDER_CONSTANT)
    np.clip(mask, 0.0, 1.0, out=mask)
    out[y0:y1, x0:x1] = blend(face, frame[y0:y1, x0:x1], mask)
    return out
