"""Skin-tone statistics: colour transfer measures bare skin, not eyes, brows or lips."""

import cv2
import numpy as np

from faceforge.compose.color import reinhard
from faceforge.compose.masks import face_mask, skin_mask
from faceforge.geometry import landmark_regions as regions


def _centre(landmarks, ids):
    x, y = landmarks[list(ids), :2].mean(axis=0)
    return round(float(y)), round(float(x))


def test_skin_mask_leaves_out_eyes_brows_and_lips_but_keeps_cheeks(samples) -> None:
    aligned = samples["face_frontal_a"].aligned
    skin = skin_mask(aligned.landmarks, aligned.image.shape)
    for ids in (
        regions.LEFT_EYE,
        regions.RIGHT_EYE,
        regions.LEFT_EYEBROW,
        regions.RIGHT_EYEBROW,
        regions.MOUTH_OUTER,
    ):
        assert skin[_centre(aligned.landmarks, ids)] == 0
    # Cheeks: halfway between each eye and the matching mouth corner (FaceMesh 61 and 291).
    for eye, corner in ((regions.RIGHT_EYE, 61), (regions.LEFT_EYE, 291)):
        ey, ex = _centre(aligned.landmarks, eye)
        my, mx = aligned.landmarks[corner, 1], aligned.landmarks[corner, 0]
        assert skin[int((ey + my) / 2), int((ex + mx) / 2)] == 255
    assert 0.3 < (skin > 0).sum() / (face_mask(aligned.landmarks, aligned.image.shape) > 0.5).sum() < 0.95


def test_reinhard_matches_skin_statistics_when_given_a_stats_mask(samples) -> None:
    src, ref = samples["face_frontal_a"].aligned, samples["face_frontal_b"].aligned
    mask = face_mask(ref.landmarks, ref.image.shape)
    skin = skin_mask(ref.landmarks, ref.image.shape)
    out = reinhard(src.image, ref.image, mask, skin)
    measured = (skin > 0) & (mask > 0.5)  # where the statistics come from: bare skin inside the mask

    def skin_lab_mean(image):
        lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
        return lab[measured].mean(axis=0)

    np.testing.assert_allclose(skin_lab_mean(out), skin_lab_mean(ref.image), atol=2.0)
    # Without a stats mask the whole face mask is measured, and the skin itself ends up further off.
    whole = reinhard(src.image, ref.image, mask)
    assert (
        np.abs(skin_lab_mean(whole) - skin_lab_mean(ref.image)).sum()
        > np.abs(skin_lab_mean(out) - skin_lab_mean(ref.image)).sum()
    )


def test_statistics_never_come_from_outside_the_mask() -> None:
    """A stats mask reaching past the mask (the bare-skin oval past an eroded or learned mask) is cut to
    it: pixels the result is not written to cannot pull the transfer off."""
    size = 64
    yy, xx = np.mgrid[:size, :size]
    mask = (((yy - 31.5) ** 2 + (xx - 31.5) ** 2) < 30**2).astype(np.float32)  # a disc; its box's corners out
    stats = np.full((size, size), 255, np.uint8)  # the whole crop
    shade = (xx + yy)[..., None] * np.array([0.6, 0.5, 0.4])  # texture, so both sides have a spread
    ref = np.clip(np.array([150.0, 110.0, 90.0]) + shade, 0, 255).astype(np.uint8)
    src = np.clip(ref.astype(int) - 40, 0, 255).astype(np.uint8)  # the same face, darker: a pure shift
    src[mask == 0] = (255, 0, 255)  # garbage where the swapped crop is not used
    out = reinhard(src, ref, mask, stats)
    inside = mask > 0.5
    assert np.abs(out[inside].astype(int) - ref[inside]).mean() < 2.0
