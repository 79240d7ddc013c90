"""Texture: the pasted face takes the target's sharpness and grain.

:func:`match_texture` measures the variance of the Laplacian of grey levels over bare skin in both crops.
A swapped face sharper than the target's is blurred (the Gaussian sigma whose result comes closest); a
smoother one gets luminance grain of the missing strength (white noise of standard deviation ``n`` adds
``20 n^2`` to the Laplacian's variance). The grain is seeded from the crop's own pixels: the output is a
pure function of the input, and the grain changes from frame to frame as a camera's does.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_BLUR_SIGMAS = (0.4, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0)
_MAX_GRAIN = 6.0  # grey levels
_TOLERANCE = 0.15  # relative Laplacian-variance mismatch left alone
_LAPLACIAN_GAIN = 20.0  # sum of squares of the 4-neighbour Laplacian kernel


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _laplacian_variance(grey: np.ndarray, region: np.ndarray) -> float:
    return float(cv2.Laplacian(grey, cv2.CV_32F)[region > 0].var())


def sharpness(image: np.ndarray, region: np.ndarray) -> float:
    """Variance of the Laplacian of grey levels over ``region`` (a bool or 0/255 mask)."""
    return _laplacian_variance(_grey(image), region)


def _closest_blur(grey: np.ndarray, region: np.ndarray, wanted: float, have: float) -> float | None:
    """The sigma of :data:`_BLUR_SIGMAS` whose blur brings the region's sharpness closest to ``wanted``,
    or None when none comes closer than ``have``. Judged on the region's box (plus the widest blur's
    reach) only: the search costs what the face costs, not the frame."""
    x, y, w, h = cv2.boundingRect(region)
    reach = math.ceil(3 * _BLUR_SIGMAS[-1])
    y0, x0 = max(y - reach, 0), max(x - reach, 0)
    box = np.s_[y0 : y + h + reach, x0 : x + w + reach]
    errors = [
        abs(_laplacian_variance(cv2.GaussianBlur(grey[box], (0, 0), sigma), region[box]) - wanted)
        for sigma in _BLUR_SIGMAS
    ]
    best = int(np.argmin(errors))
    return _BLUR_SIGMAS[best] if errors[best] < have - wanted else None


def match_texture(swapped: np.ndarray, target: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """``swapped`` blurred or given grain so its sharpness over ``skin`` matches ``target``'s."""
    region = cv2.erode(skin, np.ones((3, 3), np.uint8))
    if np.count_nonzero(region) < 64:
        return swapped
    grey = _grey(swapped)
    wanted, have = sharpness(target, region), _laplacian_variance(grey, region)
    if abs(have - wanted) <= _TOLERANCE * max(wanted, 1e-6):
        return swapped
    if have > wanted:
        sigma = _closest_blur(grey, region, wanted, have)
        return swapped if sigma is None else cv2.GaussianBlur(swapped, (0, 0), sigma)
    strength = min(math.sqrt((wanted - have) / _LAPLACIAN_GAIN), _MAX_GRAIN)
    seed = int(np.frombuffer(swapped[::7, ::7].tobytes(), np.uint8).sum(dtype=np.uint64))
    grain = np.random.default_rng(seed).normal(0.0, strength, swapped.shape[:2]).astype(np.float32)
    return np.clip(swapped.astype(np.float32) + grain[..., None] + 0.5, 0, 255).astype(np.uint8)
