"""Temporal smoothing of face landmarks: the One Euro filter and a face-size-aware landmark smoother.

Per-frame landmark models jitter by about 0.5-1 % of the face size even on a perfectly still face, and a
swapped face that follows that jitter visibly shimmers. A fixed low-pass filter removes the jitter but
makes the swapped face trail behind every head turn. The One Euro filter (Casiez, Roussel and Vogel,
CHI 2012) resolves the trade-off by adapting its cutoff frequency to the signal's speed: low when still
(strong smoothing), high when moving (little lag).

Its speed term is in the signal's units, so a filter tuned for a 600-px face would treat a 60-px face as
ten times slower and smooth it into lag. :class:`LandmarkSmoother` therefore measures speed in face sizes
per second. It scales the *derivative* rather than the coordinates: dividing coordinates by a face size
would turn the size estimate's own jitter into position jitter proportional to the distance from the
image origin, whereas dividing the speed only nudges the cutoff. The low-pass part is linear, so with this
choice scaling the input by ``k`` scales the output by exactly ``k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from faceforge.options import option


@dataclass(frozen=True, slots=True)
class SmoothingOptions:
    """How landmarks are smoothed over time.

    ``min_cutoff`` (Hz) sets the smoothing of a still face: lower removes more jitter but lets slow drifts
    lag. ``beta`` (Hz per face size per second) sets how quickly the cutoff opens as the face moves:
    higher lags less on fast motion. ``d_cutoff`` (Hz) smooths the speed estimate itself.

    ``beta`` 20 was chosen on the talking clips (``faceforge evaluate``, mesh swapper, face_frontal_a as the
    source; docs/quality.md): against the earlier 10, the output's mean pose error fell from 1.42 to 1.18
    degrees on talking_audio.mp4 (1.22 to 0.98 on talking_audio_3s.mp4) and its flicker ratio
    (frame-to-frame brightness change in the face over the target's own) from 1.13 to 1.05 (1.09 to 0.98),
    with the landmark jitter ratio still below 1 (0.92; 0.95 on the 3-s clip; about 1.02 with smoothing
    off): FaceMesh's tracking mode is steady already, and strong smoothing mostly made the swapped face
    trail the head. (30 lagged less still but no longer halved the real FaceMesh jitter in
    tests/analysis/test_tracking.py.) On synthetic faces at 30 fps the defaults cut the frame-to-frame
    jitter of a still face with 0.5-1 % of its size of independent noise per point by 3.7-5.7x (5.5-7x at
    10) and lag a face moving at one face size per second (a brisk head turn) by a quarter of a frame, at
    half that speed by half a frame (half and one frame at 10).
    """

    enabled: bool = option(True, help="Smooth face landmarks over time (video).", flag="--smoothing")
    min_cutoff: float = option(
        0.3, help="Landmark smoothing of a still face, Hz: lower removes more jitter, lags more.", min=0.01
    )
    beta: float = option(
        20.0, help="How fast smoothing lets go as the face moves (Hz per face size per second).", min=0.0
    )
    d_cutoff: float = option(1.0, help="Smoothing of the landmarks' speed estimate, Hz.", min=0.01)


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass with ``cutoff`` Hz sampled ``dt`` seconds apart.

    An infinite cutoff gives 1 (no smoothing), which is how a disabled smoother passes values through.
    """
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """The One Euro filter, applied element-wise to numpy arrays of any fixed shape.

    Driven by timestamps in seconds, so variable frame rates and dropped frames are handled: the smoothing
    factor follows the real interval between samples. The first call returns its input; a call whose
    timestamp does not increase returns the last output unchanged (it carries no usable time information).

    ``speed_axis``: when given, the speed that opens the cutoff is the Euclidean norm of the derivative
    along that axis, so the coordinates of one point share one cutoff and a diagonal motion is treated like
    an axis-aligned one of the same speed. ``scale`` (per call) divides the speed, putting ``beta`` in
    units of that scale per second.

    The derivative is taken from consecutive raw samples (as in the authors' reference code), so
    :attr:`derivative` is an unbiased estimate of the signal's velocity, usable for extrapolation.
    """

    def __init__(
        self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0, speed_axis: int | None = None
    ) -> None:
        if not min_cutoff > 0 or not d_cutoff > 0 or not beta >= 0:
            raise ValueError("OneEuroFilter needs min_cutoff > 0, d_cutoff > 0 and beta >= 0.")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.speed_axis = speed_axis
        self._value: np.ndarray | None = None
        self._raw: np.ndarray | None = None
        self._derivative: np.ndarray | None = None
        self._timestamp = -math.inf

    @property
    def value(self) -> np.ndarray | None:
        """The last output, or None before the first sample."""
        return None if self._value is None else self._value.copy()

    @property
    def derivative(self) -> np.ndarray | None:
        """The smoothed velocity (units per second) after the last sample, or None before the first."""
        return None if self._derivative is None else self._derivative.copy()

    @property
    def timestamp(self) -> float:
        """Timestamp of the last accepted sample (``-inf`` before the first)."""
        return self._timestamp

    def reset(self) -> None:
        """Forget all history: the next sample is returned as is."""
        self._value = self._raw = self._derivative = None
        self._timestamp = -math.inf

    def __call__(self, x: np.ndarray | float, timestamp: float, scale: float = 1.0) -> np.ndarray:
        """Filter one sample taken at ``timestamp`` seconds; returns a float64 array shaped like ``x``."""
        sample = np.asarray(x, dtype=np.float64)
        if self._value is None or self._raw is None or self._derivative is None:
            self._value, self._raw = sample.copy(), sample.copy()
            self._derivative = np.zeros_like(sample)
            self._timestamp = timestamp
            return sample.copy()
        if sample.shape != self._value.shape:
            raise ValueError(f"OneEuroFilter got shape {sample.shape} after {self._value.shape}.")
        dt = timestamp - self._timestamp
        if not dt > 0:
            return self._value.copy()
        velocity = (sample - self._raw) / dt
        self._derivative += _alpha(self.d_cutoff, dt) * (velocity - self._derivative)
        if self.speed_axis is None:
            speed = np.abs(self._derivative)
        else:
            speed = np.linalg.norm(self._derivative, axis=self.speed_axis, keepdims=True)
        cutoff = self.min_cutoff + self.beta * speed / scale
        self._value += _alpha(cutoff, dt) * (sample - self._value)
        self._raw = sample
        self._timestamp = timestamp
        return self._value.copy()


class LandmarkSmoother:
    """One Euro smoothing of one face's ``(N, 3)`` landmarks, with speed measured in face sizes.

    All coordinates are filtered at once; each point's x, y and z share one cutoff driven by that point's
    speed, so a moving mouth opens its own cutoff while a still forehead stays smoothed. The face size (the
    larger side of the 2-D landmark box) is smoothed by a slow fixed low-pass: it only scales the speed, so
    its lag during a zoom is harmless, and its jitter must not reach the cutoff.

    When ``options.enabled`` is false the landmarks pass through unchanged, but :attr:`velocity` is still
    estimated so a tracker can extrapolate across detection gaps.
    """

    SIZE_CUTOFF_HZ = 0.5

    def __init__(self, options: SmoothingOptions | None = None) -> None:
        self.options = options or SmoothingOptions()
        if self.options.enabled:
            min_cutoff, beta = self.options.min_cutoff, self.options.beta
        else:
            min_cutoff, beta = math.inf, 0.0
        self._points = OneEuroFilter(min_cutoff, beta, self.options.d_cutoff, speed_axis=-1)
        self._size = OneEuroFilter(self.SIZE_CUTOFF_HZ)

    @property
    def landmarks(self) -> np.ndarray | None:
        """The last smoothed landmarks (float32), or None before the first call."""
        value = self._points.value
        return None if value is None else value.astype(np.float32)

    @property
    def velocity(self) -> np.ndarray | None:
        """Smoothed landmark velocity in pixels per second, shaped like the landmarks, or None."""
        return self._points.derivative

    @property
    def timestamp(self) -> float:
        """Timestamp of the last accepted landmarks (``-inf`` before the first)."""
        return self._points.timestamp

    def reset(self) -> None:
        """Forget the face's history (for a scene cut)."""
        self._points.reset()
        self._size.reset()

    def __call__(self, landmarks: np.ndarray, timestamp: float) -> np.ndarray:
        """Smooth landmarks seen at ``timestamp`` seconds; returns float32 landmarks of the same shape."""
        points = np.asarray(landmarks, dtype=np.float64)
        span = points[:, :2].max(axis=0) - points[:, :2].min(axis=0)
        size = float(self._size(max(float(span.max()), 1.0), timestamp))
        return self._points(points, timestamp, scale=size).astype(np.float32)
