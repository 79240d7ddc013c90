"""The built-in swapper: the source's skin texture on the target's face mesh.

Source and target are aligned to one template; the source crop is warped triangle by triangle from its
own FaceMesh onto the target's, so the target's pose and expression stay and the source's face shows.
Needs no weights and no training. For each target face the source view whose head pose is closest is
used, which matters when several source photos are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceforge.geometry.alignment import TEMPLATES, Template, align_face
from faceforge.geometry.mesh_warp import delaunay_triangles, mesh_warp
from faceforge.geometry.pose import head_pose
from faceforge.types import MESH_POINTS, AlignedFace, SourceIdentity, SwapResult

# FaceMesh's face-oval ring, used to add a ring of points just outside the face so the warp also covers
# the blending margin around the oval.
_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
         152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MeshSwapOptions:
    crop_size: int = 256
    margin_ring: float = 0.12  # the outer ring sits this fraction of the face radius beyond the oval


@dataclass(frozen=True, slots=True)
class _SourceView:
    crop: np.ndarray
    points: np.ndarray  # (N, 2) mesh points plus outer ring, crop pixels
    triangles: np.ndarray
    pose: np.ndarray  # yaw, pitch, roll


def with_outer_ring(landmarks: np.ndarray, margin: float) -> np.ndarray:
    """The 468 mesh points plus the face oval pushed outward by ``margin`` of the face radius."""
    mesh = landmarks[:MESH_POINTS, :2].astype(np.float64)
    oval = mesh[list(_OVAL)]
    centre = mesh.mean(axis=0)
    ring = centre + (oval - centre) * (1.0 + margin)
    return np.concatenate([mesh, ring])


class MeshSwapper:
    """Texture transfer along the FaceMesh; see the module docstring."""

    name = "mesh"
    needs_source = True

    def __init__(self, options: MeshSwapOptions | None = None) -> None:
        self.options = options or MeshSwapOptions()
        self.crop_size = self.options.crop_size
        self.template: Template = TEMPLATES["full-face"]

    def close(self) -> None:
        """Nothing to release: the mesh swapper loads no model."""

    def prepare_source(self, source: SourceIdentity) -> list[_SourceView]:
        views = []
        for image, face in source.views:
            aligned = align_face(image, face, self.template, self.crop_size)
            points = with_outer_ring(aligned.landmarks, self.options.margin_ring)
            views.append(
                _SourceView(
                    crop=aligned.image,
                    points=points,
                    triangles=delaunay_triangles(points),
                    pose=head_pose(face.landmarks),
                )
            )
        return views

    def swap(self, targets: Sequence[AlignedFace], prepared: object) -> list[SwapResult]:
        views: list[_SourceView] = prepared  # type: ignore[assignment]
        results = []
        size = (self.crop_size, self.crop_size)
        for target in targets:
            view = views[0] if len(views) == 1 else _closest_view(views, head_pose(target.face.landmarks))
            dst = with_outer_ring(target.landmarks, self.options.margin_ring)
            depth = np.concatenate(
                [target.landmarks[:MESH_POINTS, 2], np.full(len(_OVAL), target.landmarks[:, 2].max())]
            )
            warped, coverage = mesh_warp(view.crop, view.points, dst, view.triangles, size, depth)
            image = target.image.copy()
            np.copyto(image, warped, where=coverage[..., None] > 0)
            mask = cv2.GaussianBlur(coverage, (0, 0), sigmaX=2.0).astype(np.float32) / 255.0
            results.append(SwapResult(image=image, mask=mask))
        return results


def _closest_view(views: Sequence[_SourceView], pose: np.ndarray) -> _SourceView:
    """The source view whose yaw and pitch are nearest the target's (roll is removed by alignment)."""
    return min(views, key=lambda v: float(np.sum((v.pose[:2] - pose[:2]) ** 2)))
