"""Smooth surfaces fitted to a face's pixels: the target's skin tone and its light.

A low-order polynomial in crop position per channel explains smooth light (one side brighter, a darker
jaw) without explaining features: the occluder masker measures departures from a quadratic one, and the
``shading`` colour transfer moves the swapped face's planar one onto the target's (a plane, because the
forehead above the sampled skin is extrapolated, where a quadratic can run away).
"""

from __future__ import annotations

import numpy as np

MIN_SAMPLES = 64
_REJECT = 2.5  # robust sigmas: samples further off the first fit are left out of the second


def polynomial_basis(ys: np.ndarray, xs: np.ndarray, scale: float, degree: int = 2) -> np.ndarray:
    """``(..., 3)`` planar or ``(..., 6)`` quadratic basis of positions (scaled by ``scale`` to about
    [-1, 1])."""
    u, v = xs / scale - 1.0, ys / scale - 1.0
    terms = [np.ones_like(u), u, v] + ([u * u, u * v, v * v] if degree >= 2 else [])
    return np.stack(terms, axis=-1)


def _least_squares(basis: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``argmin_c |basis @ c - values|`` (float32 ``(K, C)``) through the ``K x K`` normal equations in
    float64. ``np.linalg.lstsq`` on the tall ``(N, K)`` system cost 5-7 CPU ms a call with a 2-thread
    OpenBLAS (0.4 ms on one thread), most of the compose stage; the normal equations cost 0.1 ms, and in
    float64 they are at least as accurate as lstsq's float32 SVD for this well-conditioned basis."""
    wide = basis.astype(np.float64)
    gram = wide.T @ wide
    moment = wide.T @ values.astype(np.float64)
    solution, *_ = np.linalg.lstsq(gram, moment, rcond=None)  # K x K: also safe when singular
    return solution.astype(np.float32)


def fit_surface(
    image: np.ndarray, sample: np.ndarray, min_sigma: np.ndarray, degree: int = 2
) -> tuple[np.ndarray, np.ndarray] | None:
    """A quadratic (``degree`` 2) or planar (1) surface per channel of ``image`` ``(H, W, C)`` float32,
    fitted to the pixels where ``sample`` is set and refitted once without the samples the first fit
    rejects (an occluder over part of the sample, a highlight). Returns the surface ``(H, W, C)`` and the
    residuals' robust spread (MAD as a Gaussian sigma, floored at ``min_sigma``), or None when fewer than
    ``MIN_SAMPLES`` pixels are sampled.
    """
    ys, xs = np.nonzero(sample)
    if len(ys) < MIN_SAMPLES:
        return None
    scale = 0.5 * max(image.shape[:2])
    basis = polynomial_basis(ys.astype(np.float32), xs.astype(np.float32), scale, degree)
    values = image[ys, xs]
    keep = np.ones(len(ys), bool)
    for _ in range(2):
        coefficients = _least_squares(basis[keep], values[keep])
        residual = values - basis @ coefficients
        sigma = np.maximum(1.4826 * np.median(np.abs(residual[keep]), axis=0), min_sigma)
        keep = np.all(np.abs(residual) < _REJECT * sigma, axis=1)
        if keep.sum() < MIN_SAMPLES:
            break
    grid_y, grid_x = np.mgrid[: image.shape[0], : image.shape[1]].astype(np.float32)
    surface = polynomial_basis(grid_y, grid_x, scale, degree) @ coefficients.astype(np.float32)
    return surface.astype(np.float32), sigma.astype(np.float32)
