"""One triangulation of the FaceMesh and two rings of points around it, shared by a source and its targets.

Delaunay on a face's own 2-D points folds where the head is turned, and even on a frontal face some
cheek points stick out beyond the face oval, so triangles bridge the oval and the surroundings. The
triangulation is therefore made once on a tidy layout: the mesh made pose-free, left-right symmetric
(the mean of the face and its mirror image), and pulled radially just inside its own oval; Delaunay
triangles whose centre lies outside the oval are dropped. That leaves the 898 triangles of a disk with
the 36 oval points as its boundary. Around it, two rings of points (the oval pushed outward) are joined
to the oval and to each other by explicit strips of triangles.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from faceforge.geometry.mesh_symmetry import MESH_MIRROR, pose_free
from faceforge.geometry.mesh_visibility import oriented
from faceforge.geometry.mesh_warp import delaunay_triangles
from faceforge.types import MESH_POINTS

# FaceMesh's face-oval ring, in order around the face.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip
_INSIDE = 0.95  # inner points are pulled to at most this share of the oval's radius in their direction


def face_layout(landmarks: np.ndarray) -> np.ndarray:
    """A tidy frontal 2-D layout ``(468, 2)`` of a face's mesh to triangulate; see the module docstring."""
    layout = pose_free(landmarks)[:, :2]
    layout = (layout + layout[MESH_MIRROR] * np.array([-1.0, 1.0])) / 2
    oval = list(FACE_OVAL)
    centre = layout[oval].mean(axis=0)
    offset = layout - centre
    angle = np.arctan2(offset[:, 1], offset[:, 0])
    radius = np.hypot(offset[:, 0], offset[:, 1])
    order = np.argsort(angle[oval])
    limit = np.interp(angle, angle[oval][order], radius[oval][order], period=2 * np.pi)
    scale = np.minimum(1.0, _INSIDE * limit / np.maximum(radius, 1e-9))
    scale[oval] = 1.0
    return centre + offset * scale[:, None]


def face_triangles(layout: np.ndarray) -> np.ndarray:
    """The mesh's triangles ``(T, 3)`` inside the face oval of ``layout``, wound counter-clockwise."""
    triangles = delaunay_triangles(layout)
    oval = layout[list(FACE_OVAL)].astype(np.float32)
    centres = layout[triangles].mean(axis=1)
    inside = [cv2.pointPolygonTest(oval, (float(x), float(y)), False) >= 0 for x, y in centres]
    return oriented(triangles[np.array(inside)], layout)


def ring_points(mesh: np.ndarray, inner: float, outer: float, centre: np.ndarray | None = None) -> np.ndarray:
    """The face oval of ``(468, D)`` points pushed outward from ``centre`` (the mesh's mean by default)
    by ``inner`` and ``outer`` face radii: ``(72, D)``, to be numbered 468-503 and 504-539."""
    oval = mesh[list(FACE_OVAL)]
    middle = mesh.mean(axis=0) if centre is None else centre
    return np.concatenate(
        [middle + (oval - middle) * (1.0 + inner), middle + (oval - middle) * (1.0 + outer)]
    )


def ring_triangles(layout: np.ndarray) -> np.ndarray:
    """Strips ``(144, 3)`` joining the oval to the inner ring and the inner ring to the outer one (points
    numbered as :func:`ring_points` says), wound like :func:`face_triangles` in ``layout`` (468 points)."""
    count = len(FACE_OVAL)
    loops = [np.array(FACE_OVAL), MESH_POINTS + np.arange(count), MESH_POINTS + count + np.arange(count)]
    strips = []
    for near, far in itertools.pairwise(loops):
        near_next, far_next = np.roll(near, -1), np.roll(far, -1)
        strips += [np.stack([near, near_next, far], axis=1), np.stack([near_next, far_next, far], axis=1)]
    triangles = np.concatenate(strips).astype(np.int32)
    return oriented(triangles, np.concatenate([layout, ring_points(layout, 0.12, 0.3)]))
