"""Ordered polygons of MediaPipe FaceMesh regions.

MediaPipe publishes its regions as unordered edge sets (for drawing). Masks need ordered polygons, so
each edge set is walked into ordered loops once, at import. Every polygon is a tuple of landmark
indices whose consecutive entries (and last-to-first) are edges of the region. MediaPipe draws each
eyebrow as two open polylines (upper and lower row); they are joined into one closed polygon through the
two tessellation edges that link their ends, so every brow segment is still a mesh edge.

Loops are canonical: they start at their smallest index and go on towards its smaller neighbour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from mediapipe.python.solutions import face_mesh_connections as _fmc

Edge = tuple[int, int]


def _adjacency(edges: Iterable[Edge]) -> dict[int, set[int]]:
    adjacent: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        adjacent[a].add(b)
        adjacent[b].add(a)
    return adjacent


def _walk(adjacent: dict[int, set[int]], start: int, first: int) -> list[int]:
    """Follow a path of degree-2 vertices from ``start`` through ``first`` until it closes or ends."""
    path, previous, current = [start], start, first
    while current != start:
        path.append(current)
        onward = adjacent[current] - {previous}
        if not onward:
            break
        previous, current = current, min(onward)
    return path


def closed_loops(edges: Iterable[Edge]) -> list[tuple[int, ...]]:
    """Split an edge set whose vertices all have degree 2 into ordered closed loops."""
    adjacent = _adjacency(edges)
    if any(len(neighbours) != 2 for neighbours in adjacent.values()):
        raise ValueError("edge set is not a union of closed loops")
    loops, seen = [], set()
    for start in sorted(adjacent):
        if start in seen:
            continue
        loop = _walk(adjacent, start, min(adjacent[start]))
        seen.update(loop)
        loops.append(tuple(loop))
    return loops


def joined_chains(edges: Iterable[Edge], mesh: Iterable[Edge]) -> tuple[int, ...]:
    """Join exactly two open chains into one polygon, closing it through edges of ``mesh``."""
    adjacent = _adjacency(edges)
    ends = sorted(v for v, neighbours in adjacent.items() if len(neighbours) == 1)
    if len(ends) != 4 or any(len(n) > 2 for n in adjacent.values()):
        raise ValueError("edge set is not two open chains")
    first = _walk(adjacent, ends[0], next(iter(adjacent[ends[0]])))
    start = min(v for v in ends if v not in first)
    second = _walk(adjacent, start, next(iter(adjacent[start])))
    mesh_edges = {frozenset(edge) for edge in mesh}
    for candidate in (second[::-1], second):
        if {frozenset((first[-1], candidate[0])), frozenset((candidate[-1], first[0]))} <= mesh_edges:
            return (*first, *candidate)
    raise ValueError("the two chains are not linked by mesh edges at their ends")


def _lip_loops() -> tuple[tuple[int, ...], tuple[int, ...]]:
    loops = closed_loops(_fmc.FACEMESH_LIPS)
    if len(loops) != 2:
        raise ValueError("FaceMesh lips are expected to be two loops")
    # Landmark 13 is the midpoint of the upper lip's inner edge: its loop is the mouth opening.
    inner = next(loop for loop in loops if 13 in loop)
    outer = next(loop for loop in loops if loop is not inner)
    return outer, inner


def _single_loop(edges: Iterable[Edge]) -> tuple[int, ...]:
    loops = closed_loops(edges)
    if len(loops) != 1:
        raise ValueError("expected exactly one closed loop")
    return loops[0]


FACE_OVAL: tuple[int, ...] = _single_loop(_fmc.FACEMESH_FACE_OVAL)
MOUTH_OUTER, MOUTH_INNER = _lip_loops()
LEFT_EYE: tuple[int, ...] = _single_loop(_fmc.FACEMESH_LEFT_EYE)
RIGHT_EYE: tuple[int, ...] = _single_loop(_fmc.FACEMESH_RIGHT_EYE)
LEFT_EYEBROW: tuple[int, ...] = joined_chains(_fmc.FACEMESH_LEFT_EYEBROW, _fmc.FACEMESH_TESSELATION)
RIGHT_EYEBROW: tuple[int, ...] = joined_chains(_fmc.FACEMESH_RIGHT_EYEBROW, _fmc.FACEMESH_TESSELATION)
LEFT_IRIS: tuple[int, ...] = _single_loop(_fmc.FACEMESH_LEFT_IRIS)
RIGHT_IRIS: tuple[int, ...] = _single_loop(_fmc.FACEMESH_RIGHT_IRIS)
