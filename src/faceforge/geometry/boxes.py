"""Axis-aligned boxes (x0, y0, x1, y1): from landmarks, and their overlaps."""

from __future__ import annotations

import numpy as np


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """Tight box ``(x0, y0, x1, y1)`` (float32) of landmarks' x and y."""
    points = np.asarray(landmarks)[:, :2]
    return np.concatenate([points.min(axis=0), points.max(axis=0)]).astype(np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` (N, 4) with every box in ``b`` (M, 4): (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0.0, None).prod(axis=-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0.0, None).prod(axis=-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0.0, None).prod(axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
