"""Identity shape transfer: the source's face outline, the target's pose and expression.

Both meshes are made pose-free (:func:`~faceforge.geometry.mesh_symmetry.pose_free`) and the source is
fitted to the target by a 3-D similarity on points that neither expression nor face shape moves much
(eye corners, nose bridge and tip, forehead). Only the **face oval** then takes the source's shape: its
offsets (source minus target, made left-right symmetric, smoothed along the oval) carry the jaw and chin
width, the face length and the cheek line. Every other point follows by a smooth displacement field
(inverse-distance interpolation of the oval's offsets) that fades to exactly zero around the eyes, brows,
nose and lips, so the target's eyelids, brow raise, lip shape and mouth opening are not moved at all.

The chin is compensated for the difference in mouth opening: an open-mouthed target keeps its jaw drop,
and a source's open mouth does not lengthen the target's chin.

An earlier version moved every point (eye and mouth groups as rigid units); at strength 0.6 it opened
``face_lookup_g``'s mouth from 0.064 to 0.087 of the face height, which this one cannot do.

The offsets are returned in the target's (posed) coordinates, ready to be added with a strength.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from faceforge.geometry.mesh_symmetry import MESH_MIRROR, pose_free
from faceforge.geometry.mesh_topology import FACE_OVAL
from faceforge.geometry.pose import head_rotation

# Subject's right side; the left side is the mirror image (MESH_MIRROR).
_RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
_RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185, 78,
         95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)  # fmt: skip
_NOSE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327, 129, 358, 64, 294)
_UPPER_INNER_LIP, _LOWER_INNER_LIP = 13, 14
_CHIN, _FOREHEAD = 152, 10
_LEFT_CHEEK, _RIGHT_CHEEK = 454, 234
# Points that neither expression nor face shape moves much: the similarity between the faces is fitted here.
_STABLE = (33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 151, 9, 8)
# An offset is capped at this fraction of the target's face length (a failed landmark fit must not tear).
_MAX_OFFSET = 0.12
# The field is zero within _STILL of the nearest eye, brow, nose or lip point and whole from _FREE on,
# in face widths (the mouth corners lie about 0.3 face widths from the jaw line).
_STILL, _FREE = 0.04, 0.2


def protected_points() -> np.ndarray:
    """The eye, brow, nose and lip points, which the shape field never moves."""
    right = np.array(_RIGHT_EYE + _RIGHT_BROW)
    return np.unique(np.concatenate([right, MESH_MIRROR[right], np.array(_LIPS + _NOSE)]))


def similarity_3d(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares 3-D similarity (Umeyama 1991) taking ``src`` points to ``dst``: scale, rotation
    ``(3, 3)`` and translation ``(3,)`` with ``dst ≈ scale * src @ rotation.T + translation``."""
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, s, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    d = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2, 2] = -1.0
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(s) @ d) / max(src_c.var(axis=0).sum(), 1e-12))
    return scale, rotation, dst_mean - scale * rotation @ src_mean


def _oval_offsets(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Offsets ``(36, 3)`` of the target's face oval toward the fitted source's, in pose-free axes."""
    stable = list(_STABLE)
    scale, rotation, shift = similarity_3d(source[stable], target[stable])
    oval = np.array(FACE_OVAL)
    offsets = (scale * source[oval] @ rotation.T + shift) - target[oval]

    # Mouth opening (y is down in the pose-free frame): the chin below the mouth drops with it.
    opening_difference = (source[_LOWER_INNER_LIP, 1] - source[_UPPER_INNER_LIP, 1]) * scale - (
        target[_LOWER_INNER_LIP, 1] - target[_UPPER_INNER_LIP, 1]
    )
    top, bottom = target[_UPPER_INNER_LIP, 1], target[_LOWER_INNER_LIP, 1]
    ramp = max(bottom - top, 0.05 * float(target[_CHIN, 1] - target[_FOREHEAD, 1]))
    offsets[:, 1] -= np.clip((target[oval, 1] - top) / ramp, 0.0, 1.0) * opening_difference

    # Identity shape is close to symmetric; averaging each side with its mirror halves the landmark noise
    # of a turned face's far side (whose outline FaceMesh can only guess).
    position = {point: index for index, point in enumerate(FACE_OVAL)}
    mirror = np.array([position[int(p)] for p in MESH_MIRROR[oval]])
    offsets = (offsets + offsets[mirror] * np.array([-1.0, 1.0, 1.0])) / 2
    return (np.roll(offsets, 1, axis=0) + 2 * offsets + np.roll(offsets, -1, axis=0)) / 4


def shape_offsets(source_landmarks: np.ndarray, target_landmarks: np.ndarray) -> np.ndarray:
    """Per-point offsets ``(468, 3)`` that move the target mesh toward the source's face outline, in the
    target landmarks' own coordinates (add ``strength * offsets`` to them); see the module docstring."""
    source, target = pose_free(source_landmarks), pose_free(target_landmarks)
    oval = np.array(FACE_OVAL)
    oval_offsets = _oval_offsets(source, target)
    face_length = abs(float(target[_CHIN, 1] - target[_FOREHEAD, 1]))
    face_width = abs(float(target[_LEFT_CHEEK, 0] - target[_RIGHT_CHEEK, 0]))

    # Inverse-distance interpolation of the oval's offsets over the face (pose-free x, y).
    distance = cdist(target[:, :2], target[oval, :2])
    weights = 1.0 / np.maximum(distance, 1e-6) ** 2
    offsets = weights @ oval_offsets / weights.sum(axis=1, keepdims=True)
    protected = protected_points()
    nearest = cdist(target[:, :2], target[protected, :2]).min(axis=1)
    fade = np.clip((nearest / max(face_width, 1e-9) - _STILL) / (_FREE - _STILL), 0.0, 1.0)
    fade = fade * fade * (3 - 2 * fade)  # smoothstep: no crease where the field starts
    fade[oval] = 1.0
    offsets *= fade[:, None]
    offsets[oval] = oval_offsets

    length = np.linalg.norm(offsets, axis=1, keepdims=True)
    offsets *= np.minimum(1.0, _MAX_OFFSET * face_length / np.maximum(length, 1e-9))
    # Back from the pose-free frame into the target's posed coordinates.
    return offsets @ head_rotation(target_landmarks).T
