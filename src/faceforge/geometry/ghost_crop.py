"""GHOST's face crop: InsightFace 0.2.1's five pose templates, the best-fitting one per face.

GHOST aligns every face (source, target, training data) with ``estimate_norm(kps, 224, mode='None')``: a
least-squares similarity from the five keypoints to each of five pose-specific templates, keeping the
template with the smallest sum of per-point residuals (ties go to the first). A frontal face gets the
frontal template (facefusion's ``arcface_112_v1``); a turned head gets a semi-profile or profile one, so the
networks see turned faces laid out as they were in training.

Points are in faceforge's anchor order (:func:`faceforge.geometry.alignment.anchor_points`): image-left eye,
image-right eye, nose tip, image-left mouth corner, image-right mouth corner, the keypoint order GHOST uses.
"""

from __future__ import annotations

import numpy as np

from faceforge.geometry.alignment import TEMPLATES, similarity_transform

TEMPLATE_SIZE = 112
FRONTAL_POSE = 2  # index of the frontal template in GHOST_POSE_TEMPLATES
POSE_NAMES = ("left profile", "left", "frontal", "right", "right profile")

# Each row: the five points at 112 px, as InsightFace 0.2.1 lists them (labels are InsightFace's own).
GHOST_POSE_TEMPLATES: np.ndarray = np.stack(
    [
        [(51.642, 50.115), (57.617, 49.990), (35.740, 69.007), (51.157, 89.050), (57.025, 89.702)],
        [(45.031, 50.118), (65.568, 50.872), (39.677, 68.111), (45.177, 86.190), (64.246, 86.758)],
        TEMPLATES["arcface_112_v1"].scaled(TEMPLATE_SIZE),
        [(46.845, 50.872), (67.382, 50.118), (72.737, 68.111), (48.167, 86.758), (67.236, 86.190)],
        [(54.796, 49.990), (60.771, 50.115), (76.673, 69.007), (55.388, 89.702), (61.257, 89.050)],
    ]
).astype(np.float64)
GHOST_POSE_TEMPLATES.setflags(write=False)


def ghost_alignment(five_points: np.ndarray, size: int = 256, poses: bool = True) -> tuple[np.ndarray, int]:
    """The 2×3 similarity taking frame pixels to a ``size``-px GHOST crop, and the chosen template's index.

    ``poses=False`` always uses the frontal template. The choice does not depend on ``size``: every
    residual scales with it.
    """
    points = np.asarray(five_points, dtype=np.float64)
    if points.shape != (5, 2):
        raise ValueError(f"ghost_alignment needs five (x, y) points, got an array of shape {points.shape}.")
    scale = size / TEMPLATE_SIZE
    candidates = range(len(GHOST_POSE_TEMPLATES)) if poses else (FRONTAL_POSE,)
    best_matrix, best_index, best_error = np.empty((2, 3)), FRONTAL_POSE, np.inf
    for index in candidates:
        template = GHOST_POSE_TEMPLATES[index] * scale
        matrix = similarity_transform(points, template)
        error = np.linalg.norm(points @ matrix[:, :2].T + matrix[:, 2] - template, axis=1).sum()
        if error < best_error:
            best_matrix, best_index, best_error = matrix, index, error
    return best_matrix, best_index
