"""The least-squares similarity between two point sets (Umeyama 1991), in any dimension."""

from __future__ import annotations

import numpy as np


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale, rotation ``(D, D)`` and translation ``(D,)`` with ``dst ≈ scale * src @ rotation.T +
    translation`` for ``(N, D)`` point sets, in the least-squares sense. Never a reflection; deterministic,
    unlike a RANSAC estimate. Points that all coincide give scale 1."""
    src, dst = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, sigma, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    sign = np.ones(len(sigma))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    variance = float(src_c.var(axis=0).sum())
    scale = float((sigma * sign).sum() / variance) if variance > 0 else 1.0
    return scale, rotation, dst_mean - scale * rotation @ src_mean
