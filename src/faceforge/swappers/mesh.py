"""The built-in swapper: the source's skin texture and face shape on the target's face mesh.

Source and target are aligned to one template. For each target face:

1. **Shape.** The target's mesh is moved toward the source's identity shape in a pose-free frame: the
   face outline, eye spacing and lid outline, brows, nose and lip thickness, while the eyes' opening,
   the inner lip line (mouth opening) and the head pose stay the target's
   (:mod:`faceforge.geometry.mesh_shape`), by ``shape`` (0 keeps the target's shape).
2. **Texture.** Every triangle of the moved mesh samples the source photo through its own triangle, or,
   where the source shows that triangle badly (turned away, foreshortened, behind the nose:
   :mod:`faceforge.geometry.mesh_visibility`), through its mirror triangle (FaceMesh is left-right
   symmetric: :mod:`faceforge.geometry.mesh_symmetry`) or through another source photo that shows it
   better. Nothing outside the source's face oval is ever sampled, so the source's hair and background
   never land inside the target's face.
3. **Surroundings.** Two rings of points around the face oval carry the target's own surroundings: the
   inner one moves with the (reshaped) outline, the outer one stays, so where a narrower jaw uncovers
   background, the target's background just outside its jaw slides in, instead of being invented. The
   result says where (``SwapResult.surroundings``, :mod:`faceforge.swappers.mesh_masks`): those pixels are
   pasted as they are, over the target's old jaw line too.

All of it is one ``cv2.remap`` over the source views and the target crop laid side by side. Target faces
turned further than ``max_yaw`` are declined (left as they are and counted by the run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceforge.geometry import landmark_regions as regions
from faceforge.geometry.alignment import TEMPLATES, Template, align_face
from faceforge.geometry.mesh_shape import shape_offsets
from faceforge.geometry.mesh_symmetry import MESH_MIRROR
from faceforge.geometry.mesh_topology import (
    FACE_OVAL,
    face_layout,
    face_triangles,
    ring_points,
    ring_triangles,
)
from faceforge.geometry.mesh_visibility import triangle_visibility
from faceforge.geometry.mesh_warp import corner_affines, rasterise_triangles, remap_triangles
from faceforge.geometry.pose import head_pose
from faceforge.swappers.mesh_masks import face_region, slid_surroundings
from faceforge.swappers.mesh_options import MeshSwapOptions
from faceforge.swappers.mesh_skin import triangle_skin
from faceforge.types import MESH_POINTS, AlignedFace, SourceIdentity, SwapResult

# How much more visible (see mesh_visibility) another texture must be before it replaces the primary's own:
# none of it below half this gain, all of it from 1.5 times this gain.
_CLEARLY_BETTER = 0.3
# How visible the target's own triangle counts as, where no source view shows skin (see _texture_choice).
_TARGET_SKIN = 0.6
# The eye contours (subject's right, left), and where in them the gap between the lids (upper 159, lower
# 145) and the width (outer corner 33, inner 133) are read.
_EYE_CONTOURS = (np.array(regions.RIGHT_EYE), MESH_MIRROR[list(regions.RIGHT_EYE)])
_EYE_GAP = tuple(regions.RIGHT_EYE.index(point) for point in (159, 145, 33, 133))
_CLOSED_EYE = 0.6  # a source eye open less than this share of the target's gives way to the target's
_FADE = 0.015  # Gaussian sigma of the fade between textures, fraction of the crop size


@dataclass(frozen=True, slots=True)
class _SourceView:
    points: np.ndarray  # (468, 2) mesh points in this view's crop pixels
    pose: np.ndarray  # yaw, pitch, roll
    landmarks: np.ndarray  # (478, 3) in crop pixels
    # (T,) how well this view shows each face triangle's texture: geometric visibility times skin
    # likelihood (mesh_skin: hair or background inside the oval scores 0), and the same for its mirror
    visibility: np.ndarray
    mirror_visibility: np.ndarray
    skin: np.ndarray  # (T,) skin likelihood of each face triangle in this view
    mirror_skin: np.ndarray  # (T,) and of its mirror triangle


@dataclass(frozen=True, slots=True)
class _PreparedSource:
    atlas: np.ndarray  # (S, V * S, 3): every view's crop side by side; the target crop is appended per swap
    views: tuple[_SourceView, ...]
    triangles: np.ndarray  # (T, 3) over the 468 mesh points and both rings, wound counter-clockwise
    face_triangles: np.ndarray  # (T,) bool: all three corners are mesh points


class MeshSwapper:
    """Texture and shape transfer along the FaceMesh; see the module docstring."""

    name = "mesh"
    needs_source = True

    def __init__(self, options: MeshSwapOptions | None = None) -> None:
        self.options = options or MeshSwapOptions()
        self.crop_size = self.options.crop_size
        self.template: Template = TEMPLATES["full-face"]

    def close(self) -> None:
        """Nothing to release: the mesh swapper loads no model."""

    def prepare_source(self, source: SourceIdentity) -> _PreparedSource:
        size = (self.crop_size, self.crop_size)
        aligned = [align_face(image, face, self.template, self.crop_size) for image, face in source.views]
        # One triangulation for every view and target, made on the first view's tidied frontal layout.
        layout = face_layout(aligned[0].landmarks)
        face = face_triangles(layout)
        triangles = np.concatenate([face, ring_triangles(layout)])
        mirrored = MESH_MIRROR[face][:, [0, 2, 1]]  # reflection reverses the winding: restore it
        views = []
        for crop in aligned:
            points = crop.landmarks[:MESH_POINTS].astype(np.float64)
            visible = triangle_visibility(points, face, size)
            mirror_visible = triangle_visibility(points, mirrored, size)
            skin = triangle_skin(crop.image, points[:, :2], face, layout, visible)
            mirror_skin = triangle_skin(crop.image, points[:, :2], mirrored, layout, mirror_visible)
            views.append(
                _SourceView(
                    points=points[:, :2],
                    pose=head_pose(crop.face.landmarks),
                    landmarks=crop.landmarks,
                    visibility=visible * skin,
                    mirror_visibility=mirror_visible * mirror_skin,
                    skin=skin,
                    mirror_skin=mirror_skin,
                )
            )
        return _PreparedSource(
            atlas=np.concatenate([crop.image for crop in aligned], axis=1),
            views=tuple(views),
            triangles=triangles,
            face_triangles=np.arange(len(triangles)) < len(face),
        )

    def swap(self, targets: Sequence[AlignedFace], prepared: object) -> list[SwapResult]:
        source: _PreparedSource = prepared  # type: ignore[assignment]
        return [self._swap_one(target, source) for target in targets]

    def _swap_one(self, target: AlignedFace, source: _PreparedSource) -> SwapResult:
        pose = head_pose(target.face.landmarks)
        if abs(pose[0]) > self.options.max_yaw:
            return SwapResult(
                image=target.image.copy(),
                mask=np.zeros(target.image.shape[:2], np.float32),
                declined=f"head turned {abs(pose[0]):.0f} degrees, beyond max_yaw {self.options.max_yaw:.0f}",
            )
        size = self.crop_size
        primary = _closest_view(source.views, pose)
        original = target.landmarks[:MESH_POINTS].astype(np.float64)
        moved = original.copy()
        # An eye the source shows (nearly) closed has no eye to give a target's open one: its lashes would
        # be stretched over the opening as a black hole. The target keeps its own eye there, unmoved by the
        # shape field, so its pixels stay where they are.
        kept = _closed_eyes(source.views[primary].landmarks, target.landmarks)
        if self.options.shape > 0:
            offsets = shape_offsets(source.views[primary].landmarks, target.landmarks, kept)
            moved += self.options.shape * offsets
        centre = original[:, :2].mean(axis=0)
        ring_from = ring_points(original[:, :2], self.options.margin_ring, self.options.outer_ring, centre)
        ring_to = ring_points(moved[:, :2], self.options.margin_ring, self.options.outer_ring, centre)
        outer = slice(len(FACE_OVAL), None)
        ring_to[outer] = ring_from[outer]  # the outer ring stays: the surroundings end where they began
        dst = np.concatenate([moved[:, :2], ring_to])
        # Rings far behind the face: every face triangle is drawn over every surrounding one.
        far = moved[:, 2].max() + 10 * np.ptp(moved[:, 2])
        depth = np.concatenate([moved[:, 2], np.full(len(ring_to), far)])

        triangles, is_face = source.triangles, source.face_triangles
        # Surrounding triangles sample the target crop, which sits right of the source views in the atlas.
        target_points = np.concatenate([original[:, :2], ring_from]) + np.array([len(source.views) * size, 0])
        face_corners = target_points[triangles[is_face]]
        own, alternative, weight, from_target = _texture_choice(
            source, primary, self.options.mirror_below, size, face_corners
        )
        keep = _eye_triangles(kept, triangles[is_face])
        corners = np.empty((len(triangles), 3, 2))
        corners[~is_face] = target_points[triangles[~is_face]]

        index_map = rasterise_triangles(dst, triangles, (size, size), depth)
        atlas = np.concatenate([source.atlas, target.image], axis=1)
        corners[is_face] = own
        warped = remap_triangles(atlas, corner_affines(corners, dst[triangles]), index_map)
        if weight.any():
            # Where the primary view shows a triangle badly, fade to the better texture over a few pixels,
            # so the two sides' lighting meets in a soft transition rather than a patchwork of triangles.
            corners[is_face] = alternative
            better = remap_triangles(atlas, corner_affines(corners, dst[triangles]), index_map)
            table = np.zeros(len(triangles) + 1, np.float32)
            table[: len(weight)] = weight  # face triangles come first; rings and uncovered pixels get 0
            blend = cv2.GaussianBlur(np.take(table, index_map), (0, 0), sigmaX=_FADE * size)[..., None]
            warped = (warped * (1 - blend) + better * blend + 0.5).astype(np.uint8)
        kept_eyes = _pixels_of(index_map, keep)
        coverage = (index_map >= 0) & ~kept_eyes
        image = target.image.copy()
        np.copyto(image, warped, where=coverage[..., None])
        face_count = int(is_face.sum())
        mask = face_region(index_map, face_count, original)
        surroundings = slid_surroundings(index_map, face_count, original, moved, ring_to)
        # Kept eyes and the target's own skin where no source view shows skin are the target's pixels: out
        # of the mask, so the compositor never recolours them to the source's tone.
        target_skin = _pixels_of(index_map, from_target)
        for region, sigma in ((kept_eyes, 1.0), (target_skin, _FADE * size)):
            if region.any():
                mask *= 1.0 - cv2.GaussianBlur(region.view(np.uint8) * np.float32(1.0), (0, 0), sigmaX=sigma)
        return SwapResult(image=image, mask=mask, surroundings=surroundings)


def _pixels_of(index_map: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Pixels ``(H, W)`` bool drawn by the face triangles flagged in ``chosen`` ``(T,)`` (a table lookup:
    ``index_map`` holds triangle numbers, -1 where nothing is drawn)."""
    table = np.zeros(int(index_map.max()) + 2, dtype=bool)
    table[: len(chosen)] = chosen
    return np.take(table, index_map)  # -1 reads the last entry, which stays False


def _texture_choice(
    source: _PreparedSource, primary: int, mirror_below: float, size: int, target_corners: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where each face triangle samples the atlas: the primary view's own triangle ``(T, 3, 2)``, the best
    alternative (its mirror triangle, another view's own or mirror triangle, or, where no view shows skin
    there, the target's own triangle at ``target_corners``) ``(T, 3, 2)``, and how much of the alternative
    to take ``(T,)``: none where the primary shows the triangle well (visibility at least
    ``mirror_below``, or ``mirror_below`` 0) or no alternative is clearly better; last, which triangles
    mostly take the target's own ``(T,)`` bool."""
    face = source.triangles[source.face_triangles]
    first = source.views[primary]
    candidates = [(primary, True, first.mirror_visibility)] + [
        (index, mirror, view.mirror_visibility if mirror else view.visibility)
        for index, view in enumerate(source.views)
        if index != primary
        for mirror in (False, True)
    ]
    best_skin = np.max([s for view in source.views for s in (view.skin, view.mirror_skin)], axis=0)
    # The target's own skin: a last resort, worth _TARGET_SKIN where no source texture is skin at all.
    candidates.append((-1, False, _TARGET_SKIN * (1.0 - best_skin)))
    # Facing away reads as negative visibility: no better than 0, or the target's skin (0 where the source
    # shows skin) would win over a source texture for the slivers along a turned target's cheek, and its
    # light skin would streak the face.
    scores = np.maximum(np.stack([c[2] for c in candidates]), 0.0)
    best = np.argmax(scores, axis=0)
    gain = scores[best, np.arange(len(face))] - first.visibility
    weight = np.zeros(len(face))
    if mirror_below > 0:
        weight = np.clip(gain / _CLEARLY_BETTER - 0.5, 0.0, 1.0) * np.clip(
            (mirror_below - first.visibility) / _CLEARLY_BETTER + 0.5, 0.0, 1.0
        )
    alternative = np.empty((len(face), 3, 2))
    for choice, (index, mirror, _) in enumerate(candidates):
        chosen = best == choice
        if index < 0:
            alternative[chosen] = target_corners[chosen]
            continue
        corner_ids = MESH_MIRROR[face[chosen]] if mirror else face[chosen]
        alternative[chosen] = source.views[index].points[corner_ids] + np.array([index * size, 0])
    own = first.points[face] + np.array([primary * size, 0])
    from_target = (best == len(candidates) - 1) & (weight > 0.5)
    return own, alternative, weight.astype(np.float32), from_target


def _eye_openness(landmarks: np.ndarray, contour: np.ndarray) -> float:
    """Gap between the lids over the eye's width, for one eye ``contour`` ordered like regions.RIGHT_EYE."""
    upper, lower, outer, inner = (landmarks[contour[i]] for i in _EYE_GAP)
    return float(np.linalg.norm(upper - lower)) / max(float(np.linalg.norm(outer - inner)), 1e-9)


def _closed_eyes(source_landmarks: np.ndarray, target_landmarks: np.ndarray) -> tuple[bool, bool]:
    """Whether the target keeps its own eye (subject's right, left): both do when either eye is open less
    than _CLOSED_EYE as wide in the source as in the target. Both or neither: a kept eye beside a
    swapped one looked like two people's eyes (face_roll_h on face_frontal_a: the target's blue eye
    next to the source's narrowed dark one)."""
    closed = any(
        _eye_openness(source_landmarks, contour) < _CLOSED_EYE * _eye_openness(target_landmarks, contour)
        for contour in _EYE_CONTOURS
    )
    return closed, closed


def _eye_triangles(eyes: tuple[bool, bool], face: np.ndarray) -> np.ndarray:
    """Face triangles ``(T,)`` bool inside the eyes flagged in ``eyes`` (subject's right, left)."""
    keep = np.zeros(len(face), dtype=bool)
    for flagged, contour in zip(eyes, _EYE_CONTOURS, strict=True):
        if flagged:
            keep |= np.isin(face, contour).all(axis=1)
    return keep


def _closest_view(views: Sequence[_SourceView], pose: np.ndarray) -> int:
    """Index of the source view whose yaw and pitch are nearest the target's (alignment removes roll)."""
    return min(range(len(views)), key=lambda i: float(np.sum((views[i].pose[:2] - pose[:2]) ** 2)))
