"""The region polygons are closed, ordered walks over MediaPipe's edge sets."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
from mediapipe.python.solutions import face_mesh_connections as fmc

from faceforge.geometry import landmark_regions as regions

CLOSED = {
    "FACE_OVAL": (regions.FACE_OVAL, fmc.FACEMESH_FACE_OVAL, 36),
    "MOUTH_OUTER": (regions.MOUTH_OUTER, fmc.FACEMESH_LIPS, 20),
    "MOUTH_INNER": (regions.MOUTH_INNER, fmc.FACEMESH_LIPS, 20),
    "LEFT_EYE": (regions.LEFT_EYE, fmc.FACEMESH_LEFT_EYE, 16),
    "RIGHT_EYE": (regions.RIGHT_EYE, fmc.FACEMESH_RIGHT_EYE, 16),
    "LEFT_IRIS": (regions.LEFT_IRIS, fmc.FACEMESH_LEFT_IRIS, 4),
    "RIGHT_IRIS": (regions.RIGHT_IRIS, fmc.FACEMESH_RIGHT_IRIS, 4),
}
BROWS = {
    "LEFT_EYEBROW": (regions.LEFT_EYEBROW, fmc.FACEMESH_LEFT_EYEBROW),
    "RIGHT_EYEBROW": (regions.RIGHT_EYEBROW, fmc.FACEMESH_RIGHT_EYEBROW),
}


def _edges(loop: tuple[int, ...]) -> list[frozenset[int]]:
    return [frozenset(pair) for pair in zip(loop, loop[1:] + loop[:1], strict=True)]


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_closed_loops_follow_region_edges(name: str) -> None:
    loop, edge_set, size = CLOSED[name]
    assert isinstance(loop, tuple) and all(isinstance(i, int) for i in loop)
    assert len(loop) == size == len(set(loop))
    region_edges = {frozenset(e) for e in edge_set}
    assert set(_edges(loop)) <= region_edges


def test_lip_loops_split_the_lips_edge_set() -> None:
    lips = {frozenset(e) for e in fmc.FACEMESH_LIPS}
    assert set(_edges(regions.MOUTH_OUTER)) | set(_edges(regions.MOUTH_INNER)) == lips
    assert not set(regions.MOUTH_OUTER) & set(regions.MOUTH_INNER)
    assert 13 in regions.MOUTH_INNER and 14 in regions.MOUTH_INNER  # inner lip midpoints
    assert 0 in regions.MOUTH_OUTER and 17 in regions.MOUTH_OUTER  # outer lip midpoints


@pytest.mark.parametrize("name", sorted(BROWS))
def test_brows_join_both_rows_through_mesh_edges(name: str) -> None:
    loop, edge_set = BROWS[name]
    brow_edges = {frozenset(e) for e in edge_set}
    mesh = {frozenset(e) for e in fmc.FACEMESH_TESSELATION}
    edges = _edges(loop)
    assert len(loop) == 10 == len(set(loop))
    assert set(edges) >= brow_edges  # every brow edge is walked ...
    closers = [e for e in edges if e not in brow_edges]
    assert len(closers) == 2 and all(e in mesh for e in closers)  # ... and the two joins are mesh edges


@pytest.mark.parametrize("name", [*sorted(CLOSED), *sorted(BROWS)])
def test_polygons_are_simple_on_a_real_face(samples, name: str) -> None:
    """An unordered or crossed walk shows as a polygon much smaller than its convex hull."""
    loop = CLOSED[name][0] if name in CLOSED else BROWS[name][0]
    points = samples["face_frontal_b"].landmarks[list(loop), :2].astype(np.float32)
    area = cv2.contourArea(points)
    hull = cv2.contourArea(cv2.convexHull(points))
    assert area > 0.6 * hull


def test_inner_mouth_lies_inside_outer(samples) -> None:
    points = samples["face_lookup_g"].landmarks[:, :2].astype(np.float32)
    outer = points[list(regions.MOUTH_OUTER)]
    inner = points[list(regions.MOUTH_INNER)]
    assert cv2.contourArea(inner) < cv2.contourArea(outer)
    centre = inner.mean(axis=0)
    assert cv2.pointPolygonTest(outer, (float(centre[0]), float(centre[1])), False) > 0


def test_importing_compose_loads_no_mediapipe() -> None:
    """The CLI's help imports compose; MediaPipe (about a second) must wait until a face is analysed."""
    code = "import sys, faceforge.compose; print('mediapipe' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
