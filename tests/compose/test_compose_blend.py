"""Alpha and Poisson blending on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceforge.compose import BLENDERS, alpha_blend, poisson_blend


@pytest.fixture(scope="module")
def photo(read_rgb) -> np.ndarray:
    return read_rgb("face_frontal_b.jpg")[120:420, 160:470].copy()  # 300 x 310, the face


def _soft_ellipse(shape: tuple[int, int], centre: tuple[int, int], axes: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 5)


def test_alpha_blend_weights(photo: np.ndarray) -> None:
    bg = photo
    fg = np.full_like(bg, 200)
    mask = np.zeros(bg.shape[:2], np.float32)
    mask[10:50, 10:50] = 1.0
    mask[60:100, 60:100] = 0.5
    out = alpha_blend(fg, bg, mask)
    assert out.dtype == np.uint8 and out.shape == bg.shape
    np.testing.assert_array_equal(out[10:50, 10:50], fg[10:50, 10:50])
    expected = (bg[60:100, 60:100].astype(np.float32) + 200) / 2
    assert np.abs(out[60:100, 60:100] - expected).max() <= 0.5
    untouched = mask == 0
    np.testing.assert_array_equal(out[untouched], bg[untouched])


@pytest.mark.parametrize(
    ("centre", "axes"),
    [((155, 150), (80, 100)), ((154, 151), (81, 99)), ((60, 70), (45, 57)), ((250, 240), (40, 33))],
)
def test_poisson_self_clone_is_near_no_op(photo: np.ndarray, centre, axes) -> None:
    """Odd and even support sizes, near the corners: a wrong clone centre would shift the face."""
    mask = _soft_ellipse(photo.shape[:2], centre, axes)
    out = poisson_blend(photo, photo, mask)
    diff = np.abs(out.astype(np.int16) - photo)
    assert diff.mean() < 0.5 and diff.max() <= 3


def test_poisson_clone_centre_convention(photo: np.ndarray) -> None:
    """The centre the blender uses is the one cv2 needs: one pixel off shows up clearly."""
    mask = _soft_ellipse(photo.shape[:2], (154, 151), (81, 99))
    ours = np.abs(poisson_blend(photo, photo, mask).astype(np.int16) - photo).mean()
    binary = (mask > 0.05).astype(np.uint8) * 255
    x, y, w, h = cv2.boundingRect(binary)
    off = cv2.seamlessClone(photo, photo, binary, (x + w // 2 + 1, y + h // 2), cv2.NORMAL_CLONE)
    assert np.abs(off.astype(np.int16) - photo).mean() > 4 * ours


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_poisson_takes_foreground_detail_and_background_tone(photo: np.ndarray, scale: float) -> None:
    """Small regions are solved at full size, large ones at reduced size: both must behave."""
    fg = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    bg = np.clip(fg.astype(np.int16) * 0.6 + 40, 0, 255).astype(np.uint8)  # darker, flatter light
    centre, axes = (round(155 * scale), round(150 * scale)), (round(80 * scale), round(100 * scale))
    mask = _soft_ellipse(fg.shape[:2], centre, axes)
    out = poisson_blend(fg, bg, mask)
    outside = mask == 0
    np.testing.assert_array_equal(out[outside], bg[outside])
    core = mask > 0.99
    lap = [cv2.Laplacian(img.astype(np.float32).mean(axis=2), cv2.CV_32F)[core] for img in (out, fg, bg)]
    # Inside, the detail (Laplacian) is the foreground's, not the background's.
    assert np.corrcoef(lap[0], lap[1])[0, 1] > 0.9
    # Along the edge of the clone the tone follows the background, so no seam.
    ring = (mask > 0.05) & (mask < 0.5)
    assert (
        np.abs(out[ring].astype(np.int16) - bg[ring]).mean()
        < 0.5 * np.abs(fg[ring].astype(np.int16) - bg[ring]).mean()
    )


@pytest.mark.parametrize("name", sorted(BLENDERS))
def test_blenders_handle_empty_and_full_masks(photo: np.ndarray, name: str) -> None:
    blend = BLENDERS[name]
    fg = photo[:, ::-1].copy()
    empty = np.zeros(photo.shape[:2], np.float32)
    np.testing.assert_array_equal(blend(fg, photo, empty), photo)
    full = np.ones(photo.shape[:2], np.float32)
    out = blend(fg, photo, full)
    assert out.shape == photo.shape and out.dtype == np.uint8


def test_mismatched_shapes_are_rejected(photo: np.ndarray) -> None:
    with pytest.raises(ValueError):
        alpha_blend(photo, photo[1:], np.zeros(photo.shape[:2], np.float32))
