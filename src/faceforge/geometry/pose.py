"""Head pose (yaw, pitch, roll in degrees) from the 3-D FaceMesh landmarks.

No 3-D face model ships offline, so the head's axes are read off the mesh itself: the left-right axis
from symmetric landmark pairs, the up axis from chin to forehead. The angles are consistent between
faces (what comparing a swap with its target needs); pitch of a level head reads about -10 degrees
because the forehead leans back from the chin.
"""

from __future__ import annotations

import numpy as np

# (subject's right, subject's left) pairs: eye outer/inner corners, mouth corners, cheeks, brows.
_SYMMETRIC_PAIRS = ((33, 263), (133, 362), (61, 291), (234, 454), (70, 300), (127, 356), (58, 288))
_TOP = (10, 151, 9)
_BOTTOM = (152, 175, 199)


def head_rotation(landmarks: np.ndarray) -> np.ndarray:
    """3x3 rotation of the head in camera axes (x right, y down, z away from the camera)."""
    points = np.asarray(landmarks, dtype=np.float64)
    right = points[[p[0] for p in _SYMMETRIC_PAIRS]].mean(axis=0)
    left = points[[p[1] for p in _SYMMETRIC_PAIRS]].mean(axis=0)
    # Subject's left appears on the image right for a frontal face: x axis points to the subject's left.
    x_axis = left - right
    x_axis /= np.linalg.norm(x_axis)
    down = points[list(_BOTTOM)].mean(axis=0) - points[list(_TOP)].mean(axis=0)
    y_axis = down - x_axis * (down @ x_axis)
    y_axis /= np.linalg.norm(y_axis)
    z_axis = np.cross(x_axis, y_axis)
    return np.stack([x_axis, y_axis, z_axis], axis=1)


def head_pose(landmarks: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) in degrees; yaw > 0 when the head turns toward the image's right, roll > 0
    when it tilts clockwise in the image, pitch > 0 when the chin goes up."""
    r = head_rotation(landmarks)
    yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0)))
    pitch = -np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return np.array([yaw, pitch, roll], dtype=np.float64)
