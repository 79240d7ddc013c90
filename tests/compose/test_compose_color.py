"""Colour transfer inside a mask, on real aligned faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceforge.compose import COLOR_TRANSFERS, face_mask, histogram, reinhard


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)


@pytest.fixture(scope="module")
def pair(samples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A swapped-looking crop (another person, same template), the target crop and its face mask."""
    target = samples["face_frontal_a"].aligned
    other = samples["face_lookup_g"].aligned
    return other.image, target.image, face_mask(target.landmarks, target.image.shape)


def test_reinhard_matches_masked_lab_statistics(pair) -> None:
    src, ref, mask = pair
    inside = mask > 0.5
    out = reinhard(src, ref, mask)
    assert out.dtype == np.uint8 and out.shape == src.shape
    got, want, before = _lab(out)[inside], _lab(ref)[inside], _lab(src)[inside]
    assert np.abs(before.mean(axis=0) - want.mean(axis=0)).max() > 5  # the test pair does differ
    np.testing.assert_allclose(got.mean(axis=0), want.mean(axis=0), atol=1.5)
    np.testing.assert_allclose(got.std(axis=0), want.std(axis=0), rtol=0.1, atol=0.5)


def test_histogram_matches_masked_cdfs(pair) -> None:
    src, ref, mask = pair
    inside = mask > 0.5
    out = histogram(src, ref, mask)
    got = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[inside]
    want = cv2.cvtColor(ref, cv2.COLOR_RGB2LAB)[inside]
    before = cv2.cvtColor(src, cv2.COLOR_RGB2LAB)[inside]

    def cdf(values: np.ndarray) -> np.ndarray:
        return np.cumsum(np.bincount(values, minlength=256)) / values.size

    for c in range(3):
        # Kolmogorov-Smirnov and earth-mover (in levels) distances; the LAB -> RGB -> LAB round trip
        # moves a pixel by a level at most, which is a large step in the narrow a* and b* histograms.
        gap, before_gap = cdf(got[:, c]) - cdf(want[:, c]), cdf(before[:, c]) - cdf(want[:, c])
        assert np.abs(gap).max() < (0.1 if c == 0 else 0.2)
        assert np.abs(gap).sum() < 2.0
        assert np.abs(gap).sum() < 0.25 * np.abs(before_gap).sum()


@pytest.mark.parametrize("name", sorted(COLOR_TRANSFERS))
def test_pixels_outside_the_mask_support_are_untouched(pair, name: str) -> None:
    src, ref, mask = pair
    out = COLOR_TRANSFERS[name](src, ref, mask)
    assert out is not src
    outside = mask == 0
    assert outside.mean() > 0.2
    np.testing.assert_array_equal(out[outside], src[outside])


@pytest.mark.parametrize("name", sorted(COLOR_TRANSFERS))
def test_tiny_mask_returns_src_unchanged(pair, name: str) -> None:
    src, ref, _ = pair
    mask = np.zeros(src.shape[:2], np.float32)
    mask[100:105, 100:105] = 1.0  # 25 pixels
    np.testing.assert_array_equal(COLOR_TRANSFERS[name](src, ref, mask), src)
    np.testing.assert_array_equal(COLOR_TRANSFERS[name](src, ref, np.zeros_like(mask)), src)


@pytest.mark.parametrize("name", ["reinhard", "histogram"])
def test_grey_reference_gives_a_grey_face(samples, name: str) -> None:
    grey = samples["face_grayscale_d"].aligned
    colour = samples["face_frontal_b"].aligned
    mask = face_mask(grey.landmarks, grey.image.shape)
    out = COLOR_TRANSFERS[name](colour.image, grey.image, mask)
    inside = mask > 0.5
    chroma = _lab(out)[inside][:, 1:]
    assert np.abs(chroma).mean() < 2.0 < np.abs(_lab(colour.image)[inside][:, 1:]).mean()


@pytest.mark.parametrize("name", ["reinhard", "histogram"])
def test_grey_source_takes_the_reference_colour(samples, name: str) -> None:
    grey = samples["face_grayscale_d"].aligned
    colour = samples["face_frontal_b"].aligned
    mask = face_mask(colour.landmarks, colour.image.shape)
    out = COLOR_TRANSFERS[name](grey.image, colour.image, mask)
    inside = mask > 0.5
    got, want = _lab(out)[inside].mean(axis=0), _lab(colour.image)[inside].mean(axis=0)
    np.testing.assert_allclose(got, want, atol=2.5)
    assert np.isfinite(_lab(out)).all()


def test_shape_mismatch_is_rejected(pair) -> None:
    src, ref, mask = pair
    with pytest.raises(ValueError):
        reinhard(src, ref[:-1], mask)
