"""Piecewise-affine warping of one image onto another's landmark mesh, in a single ``cv2.remap``.

Each destination pixel is assigned the mesh triangle that covers it (rasterised far-to-near with the
landmarks' depth, so a turned head's near side wins where the 2-D mesh folds over itself), and its
source position comes from that triangle's affine map. One remap then samples the whole face, instead
of one warp per triangle.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay


def delaunay_triangles(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles ``(T, 3)`` over 2-D points, without degenerate slivers."""
    tris = Delaunay(np.asarray(points, dtype=np.float64)).simplices.astype(np.int32)
    return tris[triangle_areas(points, tris) > 1e-6]


def triangle_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice the unsigned area of each triangle."""
    a, b, c = (points[triangles[:, i]] for i in range(3))
    return np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def triangle_affines(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Per-triangle 2x3 affines taking destination positions to source positions, ``(T, 2, 3)``.
    Collapsed destination triangles get the identity (they cover no pixel anyway)."""
    return corner_affines(src[triangles], dst[triangles])


def corner_affines(src_corners: np.ndarray, dst_corners: np.ndarray) -> np.ndarray:
    """Affines ``(T, 2, 3)`` taking each destination triangle's corners ``(T, 3, 2)`` to its source
    corners ``(T, 3, 2)``; the identity where a destination triangle has collapsed."""
    d = np.concatenate([dst_corners, np.ones((len(dst_corners), 3, 1))], axis=2)  # (T, 3, 3)
    det = np.linalg.det(d)
    ok = np.abs(det) > 1e-9
    affines = np.tile(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (len(dst_corners), 1, 1))
    affines[ok] = np.linalg.solve(d[ok], src_corners[ok]).transpose(0, 2, 1)
    return affines


def rasterise_triangles(
    dst: np.ndarray, triangles: np.ndarray, shape: tuple[int, int], depth: np.ndarray | None = None
) -> np.ndarray:
    """Index map ``(H, W)`` int32: which triangle covers each pixel, -1 where none does."""
    order = np.argsort(-depth[triangles].mean(axis=1)) if depth is not None else np.arange(len(triangles))
    index_map = np.full(shape, -1, dtype=np.int32)
    # 4 fractional bits for sub-pixel edges; corners already in drawing order, and positional arguments,
    # keep the per-triangle Python overhead (the loop's real cost) small.
    corners = np.round(dst[triangles[order]] * 16).astype(np.int32)
    fill, line = cv2.fillConvexPoly, cv2.LINE_8
    for t, poly in zip(order.tolist(), corners, strict=True):
        fill(index_map, poly, t, line, 4)
    return index_map


def mesh_warp(
    source: np.ndarray,
    src_points: np.ndarray,
    dst_points: np.ndarray,
    triangles: np.ndarray,
    out_shape: tuple[int, int],
    dst_depth: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``source`` so that ``src_points`` land on ``dst_points``.

    Returns the warped image ``out_shape + (3,)`` and the coverage mask ``out_shape`` (uint8, 255 where
    a triangle covered the pixel).
    """
    index_map = rasterise_triangles(dst_points, triangles, out_shape, dst_depth)
    affines = triangle_affines(src_points, dst_points, triangles)
    return remap_triangles(source, affines, index_map), (index_map >= 0).view(np.uint8) * np.uint8(255)


def remap_triangles(source: np.ndarray, affines: np.ndarray, index_map: np.ndarray) -> np.ndarray:
    """One ``cv2.remap`` of ``source``: each pixel sampled through the affine ``(T, 2, 3)`` of the
    triangle ``index_map`` gives it (pixels with index -1 get the source's border)."""
    # One row of affine coefficients per triangle plus a last row that sends uncovered pixels (index -1,
    # which picks the last row) to (-1, -1): one gather gives every pixel its coefficients.
    table = np.empty((6, len(affines) + 1), dtype=np.float32)
    table[:, :-1] = affines.reshape(-1, 6).T
    table[:, -1] = (0.0, 0.0, -1.0, 0.0, 0.0, -1.0)
    a00, a01, a02, a10, a11, a12 = (np.take(row, index_map) for row in table)
    ys = np.arange(index_map.shape[0], dtype=np.float32)[:, None]
    xs = np.arange(index_map.shape[1], dtype=np.float32)[None, :]
    map_x = a00 * xs
    map_x += a01 * ys
    map_x += a02
    map_y = a10 * xs
    map_y += a11 * ys
    map_y += a12
    return cv2.remap(source, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
