"""The inpainting mask: the FaceMesh face oval, pushed out by an optional hair margin, with a blurred
edge. The oval is pushed out by two blur sigmas before blurring, so the whole oval is repainted (mask
above 0.97 on it) and the soft edge lies just outside it, within about eight sigmas of the oval."""

from __future__ import annotations

import cv2
import numpy as np

from faceforge.compose.masks import face_size
from faceforge.geometry import landmark_regions as regions

_OVAL = np.array(regions.FACE_OVAL)
_SHIFT = 4  # sub-pixel bits for the polygon


def inpaint_mask(
    landmarks: np.ndarray, shape: tuple[int, int], hair_margin: float = 0.0, blur: float = 0.03
) -> np.ndarray:
    """A float32 ``shape`` mask in [0, 1] over the face oval of ``landmarks`` (pixels of that image);
    ``hair_margin`` and ``blur`` are fractions of the face size (the square root of the oval's area)."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    size = face_size(landmarks)
    sigma = blur * size
    oval = points[_OVAL]
    centre = oval.mean(axis=0)
    outward = oval - centre
    outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-6)
    pushed = oval + outward * (hair_margin * size + 2.0 * sigma)
    mask: np.ndarray = np.zeros(shape, np.float32)
    polygon = np.round(pushed * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [polygon], 1.0, lineType=cv2.LINE_AA, shift=_SHIFT)
    if sigma > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    # The blur's far tail (below one 8-bit level) is cut, so where the mask is zero is exactly where
    # the target stays as it is.
    mask[mask < 1.0 / 255.0] = 0.0
    return np.clip(mask, 0.0, 1.0)
