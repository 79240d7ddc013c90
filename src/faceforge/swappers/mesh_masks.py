"""The mesh swapper's two masks: where its face is, and where it moved the target's own surroundings.

A swap that narrows the jaw draws the target's surroundings (neck, collar, background) into the space the
jaw gave up. Those pixels are the target's own, only moved: the compositor pastes them as they are, not
colour-matched with the face, and beyond the target's face oval too, so the target's old jaw line, which
lies just outside its oval, is covered rather than left as a second chin below the new one.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceforge.geometry.mesh_topology import FACE_OVAL

# Width of the face mask's upper edge, fraction of the crop size (about 7 % of the face's width): the
# face fades into the target's own forehead and temples over it.
SEAM = 0.025
_EYE_LINE = (33, 133, 263, 362)  # eye corners
_MOUTH_LINE = (61, 291)  # mouth corners
# A jaw point moved inward by this fraction of the crop size (or more) has its slid surroundings pasted
# in full; less, in proportion (a point that did not move inward pastes nothing).
_FULL_SLIDE = 0.01
# The slid surroundings are pasted in full out to this share of the way from the outer ring to the inner
# one, and fade out over the rest: the target's own face silhouette, which lies a little outside
# FaceMesh's oval, must be covered, not left half-visible in the fade.
_FADE_FROM = 0.5


def _lower_face(original: np.ndarray, rows: int) -> np.ndarray:
    """Per row ``(rows, 1)``: 0 above the target's eye line, 1 below its mouth line, linear between."""
    eyes, mouth = original[list(_EYE_LINE), 1].mean(), original[list(_MOUTH_LINE), 1].mean()
    row = np.arange(rows, dtype=np.float64)[:, None]
    return np.clip((row - eyes) / max(mouth - eyes, 1.0), 0.0, 1.0)


def face_region(index_map: np.ndarray, face_count: int, original: np.ndarray) -> np.ndarray:
    """The swap's face mask ``(S, S)`` float32: where the source's face is drawn (triangles numbered
    below ``face_count``; ``original`` are the target's own mesh points).

    From the eyes up it falls to zero at the face's edge over :data:`SEAM`, so the edge between the
    source's forehead and the target's is never pasted, and it covers the target's surroundings that slid
    over the target's oval there (left out, the target's old edge would show inside the new one). From
    the mouth down its edge is the (reshaped) jaw line itself, feathered by two pixels, so a narrower jaw
    stays narrow; below it, :func:`slid_surroundings` says what is pasted."""
    own_face = np.zeros(index_map.shape, np.uint8)
    cv2.fillPoly(own_face, [np.round(original[list(FACE_OVAL), :2]).astype(np.int32)], 1)
    face = (index_map >= 0) & (index_map < face_count)
    region = (face | ((index_map >= 0) & own_face.astype(bool))).view(np.uint8)
    inside = cv2.distanceTransform(region, cv2.DIST_L2, 5) / (SEAM * index_map.shape[0])
    ramp = np.clip(inside, 0.0, 1.0)
    faded = ramp * ramp * (3 - 2 * ramp)
    sharp = cv2.GaussianBlur(face.view(np.uint8) * np.float32(1.0), (0, 0), sigmaX=2.0)
    lower = _lower_face(original, index_map.shape[0])
    return ((1 - lower) * faded + lower * sharp).astype(np.float32)


def slid_surroundings(
    index_map: np.ndarray, face_count: int, original: np.ndarray, moved: np.ndarray, rings: np.ndarray
) -> np.ndarray:
    """Where the crop holds the target's own surroundings moved in by a narrower jaw ``(S, S)`` float32.

    ``original`` and ``moved`` are the target's mesh points before and after the shape field, ``rings``
    the moved inner ring and the fixed outer ring ``(72, 2)`` (:func:`~faceforge.geometry.mesh_topology.
    ring_points`). The weight is how far the nearest stretch of jaw moved inward (full from
    :data:`_FULL_SLIDE`), on the surrounding triangles of the lower face; it stays 1 out to half way
    between the rings (:data:`_FADE_FROM`) and falls to 0 at the outer one, where the surroundings' warp
    ends and the target's pixels are their own again.
    """
    size = index_map.shape[0]
    oval_from, oval_to = original[list(FACE_OVAL), :2], moved[list(FACE_OVAL), :2]
    centre = oval_from.mean(axis=0)
    outward = oval_from - centre
    outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-9)
    inward = np.maximum(0.0, -np.sum((oval_to - oval_from) * outward, axis=1))
    amount = np.clip(inward / (_FULL_SLIDE * size), 0.0, 1.0)
    if not amount.any():
        return np.zeros(index_map.shape, np.float32)

    # Only the surrounding triangles' pixels of the lower face can weigh anything: the rest stays 0.
    lower = _lower_face(original, size)
    rows, cols = np.nonzero((index_map >= face_count) & (lower > 0))
    weight = np.zeros(index_map.shape, np.float32)
    if not len(rows):
        return weight

    # The nearest jaw stretch by angle around the face's centre (the oval is star-shaped about it).
    angle = np.arctan2(rows - centre[1], cols - centre[0])
    ovals = np.arctan2(outward[:, 1], outward[:, 0])
    order = np.argsort(ovals)
    along = np.interp(angle, ovals[order], amount[order], period=2 * np.pi)

    count = len(FACE_OVAL)
    inner, outer = (np.zeros(index_map.shape, np.uint8) for _ in range(2))
    cv2.fillPoly(inner, [np.round(rings[:count]).astype(np.int32)], 1)
    cv2.fillPoly(outer, [np.round(rings[count:]).astype(np.int32)], 1)
    to_inner = cv2.distanceTransform(1 - inner, cv2.DIST_L2, 5)[rows, cols]
    to_outside = cv2.distanceTransform(outer, cv2.DIST_L2, 5)[rows, cols]
    radial = np.clip(to_outside / np.maximum(to_inner + to_outside, 1e-9) / _FADE_FROM, 0.0, 1.0)
    weight[rows, cols] = along * radial * lower[rows, 0]
    return weight
