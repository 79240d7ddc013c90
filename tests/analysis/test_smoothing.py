"""One Euro filter and landmark smoother: jitter removed, fast motion followed, size and rate ignored."""

from __future__ import annotations

import numpy as np
import pytest

from faceforge.analysis.smoothing import LandmarkSmoother, OneEuroFilter, SmoothingOptions

FPS = 30.0


def synthetic_face(size: float, centre: tuple[float, float], seed: int = 0) -> np.ndarray:
    """478 landmarks spread over a ``size``-pixel square around ``centre`` (z in the same scale)."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(-0.5, 0.5, (478, 3)) * size
    points[:, :2] += centre
    return points


def frame_jitter(track: np.ndarray) -> float:
    """Standard deviation of frame-to-frame landmark motion over a (T, 478, 3) sequence."""
    return float(np.diff(track, axis=0).std())


def still_face_jitter(size: float, noise: float, seed: int, timestamps: np.ndarray) -> tuple[float, float]:
    """(raw, smoothed) jitter of a still face whose landmarks get ``noise`` x size Gaussian noise."""
    rng = np.random.default_rng(seed)
    base = synthetic_face(size, (2.5 * size, 1.5 * size), seed)
    smoother = LandmarkSmoother()
    raw = base + rng.normal(0.0, noise * size, (len(timestamps), *base.shape))
    smoothed = np.stack([smoother(frame, t) for frame, t in zip(raw, timestamps, strict=True)])
    settled = slice(15, None)
    return frame_jitter(raw[settled]), frame_jitter(smoothed[settled])


def test_one_euro_first_sample_passes_and_stale_timestamps_repeat_last_output() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    x0 = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(f(x0, 1.0), x0)
    out = f(x0 + 10.0, 1.1)
    assert np.all((out > x0) & (out < x0 + 10.0))
    np.testing.assert_array_equal(f(x0 + 50.0, 1.1), out)  # same timestamp: no division by zero
    np.testing.assert_array_equal(f(x0 - 50.0, 0.5), out)  # going back in time: ignored
    assert f.timestamp == 1.1


def test_one_euro_is_element_wise_over_any_shape() -> None:
    rng = np.random.default_rng(1)
    signal = np.cumsum(rng.normal(size=(40, 2, 3, 4)), axis=0)
    times = np.cumsum(rng.uniform(0.01, 0.05, 40))
    whole = OneEuroFilter(min_cutoff=0.7, beta=0.3, d_cutoff=1.5)
    single = OneEuroFilter(min_cutoff=0.7, beta=0.3, d_cutoff=1.5)
    for x, t in zip(signal, times, strict=True):
        together = whole(x, t)
        alone = single(x[1, 2, 3], t)
    assert together[1, 2, 3] == pytest.approx(float(alone))


def test_one_euro_rejects_bad_parameters_and_shape_changes() -> None:
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)
    with pytest.raises(ValueError):
        OneEuroFilter(beta=-1.0)
    f = OneEuroFilter()
    f(np.zeros(3), 0.0)
    with pytest.raises(ValueError):
        f(np.zeros(4), 0.1)


def test_still_face_jitter_is_cut_at_least_threefold() -> None:
    """Measured with the defaults: 5.7x at 0.5 % noise, 4.4x at 0.75 %, 3.7x at 1 %."""
    timestamps = np.arange(120) / FPS
    for noise in (0.005, 0.0075, 0.01):
        raw, smoothed = still_face_jitter(200.0, noise, seed=2, timestamps=timestamps)
        assert raw / smoothed >= 3.0, (noise, raw / smoothed)


@pytest.mark.parametrize("faces_per_second", [1.0, 2.0])
def test_fast_motion_lags_at_most_one_frame(faces_per_second: float) -> None:
    size = 200.0
    base = synthetic_face(size, (0.0, 300.0))
    speed = faces_per_second * size  # pixels per second
    smoother = LandmarkSmoother()
    for k in range(45):
        t = k / FPS
        frame = base.copy()
        frame[:, 0] += speed * t
        out = smoother(frame, t)
    lag = float(np.mean(frame[:, 0] - out[:, 0]))
    assert 0.0 < lag <= speed / FPS
    assert np.abs(out[:, 1] - frame[:, 1]).max() < 1e-3  # motion along x does not disturb y
    velocity = smoother.velocity
    assert velocity is not None
    assert np.mean(velocity[:, 0]) == pytest.approx(speed, rel=0.05)


def test_relative_smoothing_does_not_depend_on_face_size() -> None:
    timestamps = np.arange(150) / FPS
    small_raw, small_out = still_face_jitter(60.0, 0.0075, seed=3, timestamps=timestamps)
    large_raw, large_out = still_face_jitter(600.0, 0.0075, seed=4, timestamps=timestamps)
    assert (small_out / 60.0) == pytest.approx(large_out / 600.0, rel=0.10)
    assert (small_raw / small_out) == pytest.approx(large_raw / large_out, rel=0.10)


def test_same_signal_scaled_gives_the_same_signal_scaled() -> None:
    """Exact scale invariance: speed is measured in face sizes, the low-pass itself is linear."""
    rng = np.random.default_rng(5)
    base = synthetic_face(1.0, (2.0, 1.0))
    motion = np.cumsum(rng.normal(0.0, 0.02, (60, 1, 3)), axis=0) + rng.normal(0.0, 0.01, (60, 478, 3))
    small, large = LandmarkSmoother(), LandmarkSmoother()
    for k, step in enumerate(motion):
        out_small = small((base + step) * 60.0, k / FPS)
        out_large = large((base + step) * 600.0, k / FPS)
    np.testing.assert_allclose(out_large / 600.0, out_small / 60.0, atol=1e-5)


def test_variable_frame_rate_keeps_smoothing_and_lag_in_real_time() -> None:
    rng = np.random.default_rng(6)
    timestamps = np.cumsum(rng.uniform(1 / 60, 1 / 20, 150))
    raw, smoothed = still_face_jitter(200.0, 0.0075, seed=7, timestamps=timestamps)
    assert raw / smoothed >= 3.0

    size, speed = 200.0, 200.0  # one face size per second
    base = synthetic_face(size, (0.0, 300.0))
    smoother = LandmarkSmoother()
    lags = []
    for t in timestamps[:60]:
        frame = base.copy()
        frame[:, 0] += speed * t
        lags.append(float(np.mean(frame[:, 0] - smoother(frame, t)[:, 0])))
    assert max(lags[30:]) <= speed / FPS  # under one 30-fps frame of motion whatever the spacing


def test_disabled_smoother_passes_through_but_still_tracks_velocity() -> None:
    smoother = LandmarkSmoother(SmoothingOptions(enabled=False))
    base = synthetic_face(100.0, (200.0, 200.0))
    for k in range(20):
        frame = base + np.array([3.0 * k, 0.0, 0.0])
        np.testing.assert_allclose(smoother(frame, k / FPS), frame, rtol=1e-6)
    velocity = smoother.velocity
    assert velocity is not None
    assert np.mean(velocity[:, 0]) == pytest.approx(3.0 * FPS, rel=0.05)
