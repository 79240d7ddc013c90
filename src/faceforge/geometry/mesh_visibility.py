"""How well a photo shows each triangle of its face mesh: facing direction and occlusion.

A triangle of a turned face is foreshortened (its normal leans away from the camera) or hidden behind
the nose or the near cheek; its pixels in the photo are then a smear of the few pixels it covers, or
show something else (hair, background, the nose). The visibility of a triangle is the cosine between
its normal and the view direction (negative when it faces away) times the share of its corners that
the mesh itself does not cover with a nearer surface.
"""

from __future__ import annotations

import numpy as np

from faceforge.geometry.mesh_warp import rasterise_triangles

# A point is hidden when another triangle drawn over it is nearer, on average, by more than this fraction
# of the face width (a neighbouring triangle on a steep cheek differs by about this much).
_DEPTH_TOLERANCE = 0.05


def oriented(triangles: np.ndarray, layout: np.ndarray) -> np.ndarray:
    """``triangles`` with each one's corners ordered counter-clockwise on screen (x right, y down, so
    a positive signed area) in the 2-D ``layout``: a frontal layout makes the winding a facing test."""
    a, b, c = (layout[triangles[:, i]] for i in range(3))
    signed = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    flipped = triangles.copy()
    flipped[signed < 0, 1], flipped[signed < 0, 2] = triangles[signed < 0, 2], triangles[signed < 0, 1]
    return flipped


def facing(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Cosine ``(T,)`` between each triangle's normal and the view axis, positive when its front shows,
    for ``(N, 3)`` points whose z grows away from the camera, triangles wound as :func:`oriented` does."""
    a, b, c = (points[triangles[:, i]] for i in range(3))
    normals = np.cross(b - a, c - a)
    return normals[:, 2] / np.maximum(np.linalg.norm(normals, axis=1), 1e-12)


def unoccluded_corners(points: np.ndarray, triangles: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per point ``(N,)`` bool: not covered by a nearer part of the mesh when rasterised at ``shape``.
    Points outside the image count as hidden."""
    index_map = rasterise_triangles(points[:, :2], triangles, shape, points[:, 2])
    pixel = np.round(points[:, :2]).astype(np.int64)
    inside = (pixel[:, 0] >= 0) & (pixel[:, 1] >= 0) & (pixel[:, 0] < shape[1]) & (pixel[:, 1] < shape[0])
    visible = np.zeros(len(points), dtype=bool)
    covering = index_map[pixel[inside, 1], pixel[inside, 0]]
    drawn = np.maximum(covering, 0)
    # A point shows when the triangle drawn over it is one of its own, or not nearer than itself.
    own = (triangles[drawn] == np.flatnonzero(inside)[:, None]).any(axis=1)
    tolerance = _DEPTH_TOLERANCE * float(np.ptp(points[:, 0]))
    nearest = np.where(covering >= 0, points[triangles[drawn], 2].mean(axis=1), np.inf)
    visible[inside] = own | (nearest >= points[inside, 2] - tolerance)
    return visible


def triangle_visibility(points: np.ndarray, triangles: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Visibility ``(T,)`` in [-1, 1] of each triangle: :func:`facing` times the share of its corners
    :func:`unoccluded_corners` finds; see the module docstring."""
    corners = unoccluded_corners(points, triangles, shape)
    return facing(points, triangles) * corners[triangles].mean(axis=1)
