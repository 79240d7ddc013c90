"""Seam matching: the swapped face meets the target's own pixels without a step at the mask's edge.

Colour transfer matches the face's statistics as a whole; at the edge of the mask the two faces can still
differ (the source's forehead lit brighter than the target's below the hairline, a jaw in shadow), and a
feathered blend only spreads that step over the feather. :func:`match_seam` measures the difference
``target - face`` (L*a*b*) in the ring where the mask's edge is seen, extends it smoothly over the face
(normalised convolution, sigma ``_SPREAD`` of the face size, at reduced resolution) and adds it with a
weight that is 1 at the edge and fades inward over ``SEAM_BAND`` of the face size (5 %: 12 % fixed the
edge no better and cost twice the identity): the face's middle keeps its own tone, its edge takes the
target's. Ring pixels far from the ring's typical difference (a hair strand, an eyebrow) are left out of
the estimate, and the correction is bounded.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from faceforge.compose.color import from_lab, to_lab

SEAM_BAND = 0.05  # the correction fades from the mask's edge inward over this fraction of the face size
_SPREAD = 0.06  # Gaussian sigma of the correction's extension, fraction of the face size
_RING = (0.3, 0.9)  # mask values where the edge is seen
_LIMIT = np.array([20.0, 8.0, 8.0], np.float32)  # bound of the correction per L*, a*, b*
# A step at the edge up to this (L*, a*, b*) is left as it is, only the rest is corrected: a small step
# does not read as a seam, and correcting it gave the face's edge the target's tone (dlib's distance to
# the source over the 56 photo pairs at contrast 1: 0.531 -> 0.518).
SEAM_TOLERANCE = np.array([8.0, 3.0, 3.0], np.float32)
_STEP = 4  # the correction is estimated at 1/_STEP resolution (it is smooth by construction)


def match_seam(
    face: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    size: float,
    average: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """``face`` (crop space, like ``target`` and ``mask``) corrected toward ``target`` near the mask's
    edge; pixels where the mask is 0 come back unchanged. ``average`` (a track's running average, for
    video) receives the crop-size correction and returns the one to apply: fitted to one frame's ring it
    moves with that frame's pixels and flickered."""
    x, y, w, h = cv2.boundingRect((mask > 0).astype(np.uint8))
    if w < 16 or h < 16:
        return face
    box = np.s_[y : y + h, x : x + w]
    weight = mask[box]
    ring = (weight > _RING[0]) & (weight < _RING[1])
    if np.count_nonzero(ring) < 64:
        return face
    face_lab, target_lab = to_lab(face[box]), to_lab(target[box])
    difference = target_lab - face_lab
    typical = np.median(difference[ring], axis=0)
    spread = 1.4826 * np.median(np.abs(difference[ring] - typical), axis=0)
    usable = ring & np.all(np.abs(difference - typical) <= 2.5 * spread + 2.0, axis=2)
    small = (max(w // _STEP, 1), max(h // _STEP, 1))
    sigma = max(_SPREAD * size / _STEP, 1.0)
    samples = cv2.resize(usable.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    values = cv2.resize(difference * usable[..., None], small, interpolation=cv2.INTER_AREA)
    density = cv2.GaussianBlur(samples, (0, 0), sigma)
    extended = cv2.GaussianBlur(values, (0, 0), sigma) / np.maximum(density, 1e-3)[..., None]
    extended = np.sign(extended) * np.maximum(np.abs(extended) - SEAM_TOLERANCE, 0.0)
    extended = cv2.resize(np.clip(extended, -_LIMIT, _LIMIT), (w, h), interpolation=cv2.INTER_LINEAR)
    if average is not None:
        whole = np.zeros(face.shape, np.float32)
        whole[box] = extended
        extended = average(whole)[box]
    inside = (weight >= _RING[1]).astype(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3) / max(SEAM_BAND * size, 1.0)
    fade = np.clip(1.0 - depth, 0.0, 1.0) ** 2
    corrected = face_lab + extended * fade[..., None]
    np.clip(corrected[..., 0], 0, 100, out=corrected[..., 0])
    out = face.copy()
    np.copyto(out[box], from_lab(corrected), where=(weight > 0)[..., None])
    return out
