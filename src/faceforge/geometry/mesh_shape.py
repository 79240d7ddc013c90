"""Identity shape transfer: the source's face shape, the target's pose and expression.

Both meshes are made pose-free (:func:`~faceforge.geometry.mesh_symmetry.pose_free`) and the source is
fitted to the target by a 3-D similarity on points that neither expression nor face shape moves much
(eye corners, nose bridge and tip, forehead). The target's points then move toward the fitted source's
by what is identity and not expression:

- **face oval**: the source's jaw and chin width, face length and cheek line (offsets made left-right
  symmetric and smoothed along the oval); the chin is compensated for the difference in mouth opening, so
  an open-mouthed target keeps its jaw drop and a source's open mouth does not lengthen the chin;
- **eyes**: the source's eye corners (eye spacing, width, tilt) and lid outline, opened as wide as the
  target's eye (the gap between the lids over the corner distance stays the target's, so blinks follow);
- **brows**: the source's brow outline; its height over the eye moves half way (a raised brow is partly
  expression);
- **nose**: the source's nose, whole;
- **lips**: the source's lip thickness on the target's own inner lip line, which does not move at all:
  the mouth opening and the mouth interior that the compositor keeps are exactly the target's.

Every other point follows by inverse-distance interpolation of those offsets. An eye given in
``keep_eyes`` (the swapper keeps the target's own eye where the source's is closed) does not move.

An earlier version moved every point with the eye and mouth groups as rigid units: at strength 0.6 it
opened ``face_lookup_g``'s mouth from 0.064 to 0.087 of the face height, which this one cannot do.

The offsets are returned in the target's (posed) coordinates, ready to be added with a strength.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from faceforge.geometry import landmark_regions as regions
from faceforge.geometry.mesh_symmetry import MESH_MIRROR, pose_free
from faceforge.geometry.mesh_topology import FACE_OVAL
from faceforge.geometry.pose import head_rotation
from faceforge.geometry.similarity import umeyama

# Subject's right side; the left side is the mirror image (MESH_MIRROR).
_RIGHT_EYE_CORNERS = (33, 133)  # outer, inner
_NOSE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327, 129, 358, 64, 294)
_UPPER_INNER_LIP, _LOWER_INNER_LIP = 13, 14
_CHIN, _FOREHEAD = 152, 10
# Points that neither expression nor face shape moves much: the similarity between the faces is fitted here.
_STABLE = (33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 151, 9, 8)
# An offset is capped at this fraction of the target's face length (a failed landmark fit must not tear).
_MAX_OFFSET = 0.12
# How far a brow's height over its eye moves toward the source's: a raised brow is partly expression.
_BROW_HEIGHT = 0.5
# A source eye opened this much less (or more) than the target's is stretched at most this far.
_MAX_LID_STRETCH = 2.0


def _sides(right: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The subject's right-side points and their mirror partners on the left."""
    return np.array(right), MESH_MIRROR[list(right)]


def protected_points() -> np.ndarray:
    """The eye, brow, nose and lip points: the features, which move only by their own rules."""
    points = [
        *_sides(regions.RIGHT_EYE),
        *_sides(regions.RIGHT_EYEBROW),
        np.array(regions.MOUTH_OUTER + regions.MOUTH_INNER + _NOSE),
    ]
    return np.unique(np.concatenate(points))


def _symmetric(points: np.ndarray) -> np.ndarray:
    """Pose-free ``points`` averaged with their own mirror image about the face's midline.

    Identity shape is close to symmetric, while FaceMesh only guesses the far side of a turned face: the
    average halves that side's error, as the oval's own smoothing does. On the 56 still pairs it changes
    the mean dlib distance by -0.001 (20 pairs closer, 22 further, all within 0.03): a robustness rule,
    not a measured gain."""
    mirrored = points[MESH_MIRROR].copy()
    mirrored[:, 0] = 2 * points[:, 0].mean() - mirrored[:, 0]
    return (points + mirrored) / 2


def _oval_offsets(fitted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Offsets ``(36, 3)`` of the target's face oval toward the fitted source's, in pose-free axes."""
    oval = np.array(FACE_OVAL)
    offsets = fitted[oval] - target[oval]

    # Mouth opening (y is down in the pose-free frame): the chin below the mouth drops with it.
    opening_difference = (fitted[_LOWER_INNER_LIP, 1] - fitted[_UPPER_INNER_LIP, 1]) - (
        target[_LOWER_INNER_LIP, 1] - target[_UPPER_INNER_LIP, 1]
    )
    top, bottom = target[_UPPER_INNER_LIP, 1], target[_LOWER_INNER_LIP, 1]
    ramp = max(bottom - top, 0.05 * float(target[_CHIN, 1] - target[_FOREHEAD, 1]))
    offsets[:, 1] -= np.clip((target[oval, 1] - top) / ramp, 0.0, 1.0) * opening_difference

    # The forehead's height stays the target's: above it are the target's own hairline and hair, and a
    # lower forehead edge uncovered a band of the target's forehead skin above the face. The vertical
    # offset fades from full at the eyes to none at the forehead's top.
    eyes = float(target[list(_RIGHT_EYE_CORNERS), 1].mean())
    forehead = float(target[_FOREHEAD, 1])
    offsets[:, 1] *= np.clip((target[oval, 1] - forehead) / max(eyes - forehead, 1e-9), 0.0, 1.0)

    # Identity shape is close to symmetric; averaging each side with its mirror halves the landmark noise
    # of a turned face's far side (whose outline FaceMesh can only guess).
    position = {point: index for index, point in enumerate(FACE_OVAL)}
    mirror = np.array([position[int(p)] for p in MESH_MIRROR[oval]])
    offsets = (offsets + offsets[mirror] * np.array([-1.0, 1.0, 1.0])) / 2
    return (np.roll(offsets, 1, axis=0) + 2 * offsets + np.roll(offsets, -1, axis=0)) / 4


def _in_corner_frame(points: np.ndarray, outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """``points`` (x, y) as complex numbers in the frame where the eye's outer corner is 0, its inner 1."""
    return ((points[:, 0] - outer[0]) + 1j * (points[:, 1] - outer[1])) / complex(*(inner - outer)[:2])


def _eye_offsets(fitted: np.ndarray, target: np.ndarray, eye: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Offsets ``(16, 3)`` that give one target eye the source's corners and lid outline, opened as
    wide (lid gap over corner distance) as the target's."""
    own = _in_corner_frame(target[eye, :2], *target[corners, :2])
    theirs = _in_corner_frame(fitted[eye, :2], *fitted[corners, :2])
    stretch = np.ptp(own.imag) / max(float(np.ptp(theirs.imag)), 1e-9)
    stretch = float(np.clip(stretch, 1 / _MAX_LID_STRETCH, _MAX_LID_STRETCH))
    outer, inner = fitted[corners, :2]
    placed = (theirs.real + 1j * theirs.imag * stretch) * complex(*(inner - outer)) + complex(*outer)
    offsets = np.zeros((len(eye), 3))
    offsets[:, 0], offsets[:, 1] = placed.real - target[eye, 0], placed.imag - target[eye, 1]
    return offsets


def _brow_offsets(full: np.ndarray, brow: np.ndarray, eye_lift: float) -> np.ndarray:
    """Offsets ``(10, 3)``: the source's brow outline; its height moves with the eye and _BROW_HEIGHT of
    the rest of the way to the source's."""
    offsets = full[brow].copy()
    mean_lift = offsets[:, 1].mean()
    offsets[:, 1] += eye_lift + _BROW_HEIGHT * (mean_lift - eye_lift) - mean_lift
    return offsets


def _lip_offsets(fitted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Offsets ``(20, 3)`` of the outer lip contour: the source's lip thickness (outer point minus its
    inner partner) on the target's inner lip line, which stays where it is."""
    outer, inner = np.array(regions.MOUTH_OUTER), np.array(regions.MOUTH_INNER)
    offsets = np.zeros((len(outer), 3))
    offsets[:, :2] = (fitted[outer, :2] - fitted[inner, :2]) - (target[outer, :2] - target[inner, :2])
    return offsets


def _feature_offsets(
    fitted: np.ndarray, target: np.ndarray, keep_eyes: tuple[bool, bool]
) -> dict[int, np.ndarray]:
    """Each feature point's offset toward the fitted source, by the rules of the module docstring."""
    full = fitted - target
    offsets: dict[int, np.ndarray] = {}
    for eye, corners, brow, keep in zip(
        _sides(regions.RIGHT_EYE),
        _sides(_RIGHT_EYE_CORNERS),
        _sides(regions.RIGHT_EYEBROW),
        keep_eyes,
        strict=True,
    ):
        moved = np.zeros((len(eye), 3)) if keep else _eye_offsets(fitted, target, eye, corners)
        offsets.update(zip(eye.tolist(), moved, strict=True))
        offsets.update(zip(brow.tolist(), _brow_offsets(full, brow, float(moved[:, 1].mean())), strict=True))
    offsets.update((int(point), full[point]) for point in _NOSE)
    offsets.update(zip(regions.MOUTH_OUTER, _lip_offsets(fitted, target), strict=True))
    offsets.update((point, np.zeros(3)) for point in regions.MOUTH_INNER)
    return offsets


def shape_offsets(
    source_landmarks: np.ndarray, target_landmarks: np.ndarray, keep_eyes: tuple[bool, bool] = (False, False)
) -> np.ndarray:
    """Per-point offsets ``(468, 3)`` that move the target mesh toward the source's identity shape, in
    the target landmarks' own coordinates (add ``strength * offsets`` to them); see the module docstring.
    ``keep_eyes`` (subject's right, left) names eyes that stay where the target has them."""
    source, target = pose_free(source_landmarks), pose_free(target_landmarks)
    scale, rotation, shift = umeyama(source[list(_STABLE)], target[list(_STABLE)])
    fitted = _symmetric(scale * source @ rotation.T + shift)
    anchors = dict(zip(FACE_OVAL, _oval_offsets(fitted, target), strict=True))
    anchors.update(_feature_offsets(fitted, target, keep_eyes))
    points = np.array(list(anchors))
    values = np.array(list(anchors.values()))

    # Inverse-distance interpolation of the anchors' offsets over the face (pose-free x, y).
    weights = 1.0 / np.maximum(cdist(target[:, :2], target[points, :2]), 1e-6) ** 2
    offsets = weights @ values / weights.sum(axis=1, keepdims=True)
    offsets[points] = values

    face_length = abs(float(target[_CHIN, 1] - target[_FOREHEAD, 1]))
    length = np.linalg.norm(offsets, axis=1, keepdims=True)
    offsets *= np.minimum(1.0, _MAX_OFFSET * face_length / np.maximum(length, 1e-9))
    # Back from the pose-free frame into the target's posed coordinates.
    return offsets @ head_rotation(target_landmarks).T
