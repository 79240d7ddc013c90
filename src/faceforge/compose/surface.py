"""Smooth quadratic surfaces fitted to a face's pixels: the target's skin tone and its shading.

A quadratic in crop position per channel explains smooth light (one side brighter, a darker jaw) without
explaining features: the occluder masker measures departures from it, and the ``shading`` colour transfer
moves the swapped face's surface onto the target's.
"""

from __future__ import annotations

import numpy as np

MIN_SAMPLES = 64
_REJECT = 2.5  # robust sigmas: samples further off the first fit are left out of the second


def quadratic_basis(ys: np.ndarray, xs: np.ndarray, scale: float) -> np.ndarray:
    """``(..., 6)`` quadratic polynomial basis of positions (scaled by ``scale`` to about [-1, 1])."""
    u, v = xs / scale - 1.0, ys / scale - 1.0
    return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1)


def fit_surface(
    image: np.ndarray, sample: np.ndarray, min_sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A quadratic surface per channel of ``image`` ``(H, W, C)`` float32 fitted to the pixels where
    ``sample`` is set, refitted once without the samples the first fit rejects (an occluder over part of
    the sample, a highlight). Returns the surface ``(H, W, C)`` and the residuals' robust spread (MAD as a
    Gaussian sigma, floored at ``min_sigma``), or None when fewer than ``MIN_SAMPLES`` pixels are sampled.
    """
    ys, xs = np.nonzero(sample)
    if len(ys) < MIN_SAMPLES:
        return None
    scale = 0.5 * max(image.shape[:2])
    basis = quadratic_basis(ys.astype(np.float32), xs.astype(np.float32), scale)
    values = image[ys, xs]
    keep = np.ones(len(ys), bool)
    for _ in range(2):
        coefficients, *_ = np.linalg.lstsq(basis[keep], values[keep], rcond=None)
        residual = values - basis @ coefficients
        sigma = np.maximum(1.4826 * np.median(np.abs(residual[keep]), axis=0), min_sigma)
        keep = np.all(np.abs(residual) < _REJECT * sigma, axis=1)
        if keep.sum() < MIN_SAMPLES:
            break
    grid_y, grid_x = np.mgrid[: image.shape[0], : image.shape[1]].astype(np.float32)
    surface = quadratic_basis(grid_y, grid_x, scale) @ coefficients.astype(np.float32)
    return surface.astype(np.float32), sigma.astype(np.float32)
