"""Identity shape transfer: the source's face shape, the target's pose and expression.

Both meshes are made pose-free (:func:`~faceforge.geometry.mesh_symmetry.pose_free`) and the source is
fitted to the target by a 3-D similarity on points that neither expression nor face shape moves much
(eye corners, nose bridge and tip, forehead). What then still differs, point by point, is identity shape
(outline, jaw and chin, face length, nose, eye spacing, mouth position) plus the two faces' expressions.
The expression part is taken out where it is large:

- the eyes, brows and lips move as rigid units (their group's mean offset), so eye spacing and mouth
  position follow the source while the eyelids, brow raise and lip shape of the target's expression stay;
- the lower jaw is compensated for the difference in mouth opening: an open-mouthed target keeps its jaw
  drop, a source's open mouth does not lengthen the target's chin.

The offsets are returned in the target's (posed) coordinates, ready to be added with a strength.
"""

from __future__ import annotations

import numpy as np

from faceforge.geometry.mesh_symmetry import MESH_MIRROR, pose_free
from faceforge.geometry.pose import head_rotation

# Subject's right side; the left side is the mirror image (MESH_MIRROR).
_RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
_RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185, 78,
         95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)  # fmt: skip
_UPPER_INNER_LIP, _LOWER_INNER_LIP = 13, 14
_CHIN, _FOREHEAD = 152, 10
# Points that neither expression nor face shape moves much: the similarity between the faces is fitted here.
_STABLE = (33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 151, 9, 8)
# An offset is capped at this fraction of the target's face length (a failed landmark fit must not tear).
_MAX_OFFSET = 0.12


def _groups() -> tuple[np.ndarray, ...]:
    right_eye, right_brow = np.array(_RIGHT_EYE), np.array(_RIGHT_BROW)
    return right_eye, MESH_MIRROR[right_eye], right_brow, MESH_MIRROR[right_brow], np.array(_LIPS)


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


def shape_offsets(source_landmarks: np.ndarray, target_landmarks: np.ndarray) -> np.ndarray:
    """Per-point offsets ``(468, 3)`` that move the target mesh toward the source's identity shape, in the
    target landmarks' own coordinates (add ``strength * offsets`` to them); see the module docstring."""
    source, target = pose_free(source_landmarks), pose_free(target_landmarks)
    stable = list(_STABLE)
    scale, rotation, shift = similarity_3d(source[stable], target[stable])
    offsets = scale * source @ rotation.T + shift - target

    # Mouth opening (y is down in the pose-free frame): the jaw below the mouth drops with it.
    opening_difference = (source[_LOWER_INNER_LIP, 1] - source[_UPPER_INNER_LIP, 1]) * scale - (
        target[_LOWER_INNER_LIP, 1] - target[_UPPER_INNER_LIP, 1]
    )
    face_length = float(target[_CHIN, 1] - target[_FOREHEAD, 1])
    top, bottom = target[_UPPER_INNER_LIP, 1], target[_LOWER_INNER_LIP, 1]
    ramp = max(bottom - top, 0.05 * face_length)
    jaw = np.clip((target[:, 1] - top) / ramp, 0.0, 1.0)
    offsets[:, 1] -= jaw * opening_difference

    for group in _groups():
        offsets[group] = offsets[group].mean(axis=0)
    length = np.linalg.norm(offsets, axis=1, keepdims=True)
    limit = _MAX_OFFSET * abs(face_length)
    offsets *= np.minimum(1.0, limit / np.maximum(length, 1e-9))
    # Back from the pose-free frame into the target's posed coordinates.
    return offsets @ head_rotation(target_landmarks).T
