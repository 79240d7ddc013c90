"""Face masks on real FaceMesh landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceforge.compose import box_mask, combine_masks, face_mask, face_size
from faceforge.compose.masks import DEFAULT_ERODE, DEFAULT_FEATHER, lifted_oval
from faceforge.geometry import landmark_regions as regions

FRONTAL = ["face_frontal_a", "face_frontal_b", "face_lookup_g"]


def _at(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Mask values at sub-pixel points (bilinear)."""
    xy = np.ascontiguousarray(points[:, :2], dtype=np.float32)
    return cv2.remap(mask, xy[:, :1], xy[:, 1:], cv2.INTER_LINEAR).ravel()


def _depth_inside(polygon: np.ndarray, points: np.ndarray) -> np.ndarray:
    contour = polygon.astype(np.float32)
    return np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in points[:, :2]])


@pytest.mark.parametrize("name", FRONTAL)
def test_mask_covers_the_face(samples, name: str) -> None:
    aligned = samples[name].aligned
    mesh = aligned.landmarks[:468]
    size = face_size(aligned.landmarks)
    mask = face_mask(aligned.landmarks, aligned.image.shape)
    assert mask.dtype == np.float32 and mask.shape == aligned.image.shape[:2]
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    values = _at(mask, mesh)
    assert (values > 0.5).mean() > 0.85  # only the outermost ring of the mesh is in the feathered edge
    deep = (
        _depth_inside(lifted_oval(aligned.landmarks, 0), mesh) > (DEFAULT_ERODE + 2 * DEFAULT_FEATHER) * size
    )
    assert deep.mean() > 0.6 and values[deep].min() > 0.95
    # Without erosion the 0.5 level sits on the face oval itself.
    plain = _at(face_mask(aligned.landmarks, aligned.image.shape, erode=0.0), mesh)
    assert (plain > 0.5).mean() > 0.95


@pytest.mark.parametrize("name", FRONTAL)
def test_mask_stays_near_the_face(samples, name: str) -> None:
    aligned = samples[name].aligned
    size = face_size(aligned.landmarks)
    mask = face_mask(aligned.landmarks, aligned.image.shape)
    outline = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(outline, [np.round(lifted_oval(aligned.landmarks)).astype(np.int32)], 1)
    outside = cv2.distanceTransform(1 - outline, cv2.DIST_L2, 5)
    far = outside > 3 * DEFAULT_FEATHER * size + 2
    assert far.mean() > 0.3 and mask[far].max() < 0.01


def test_forehead_is_lifted_above_the_oval(samples) -> None:
    aligned = samples["face_frontal_b"].aligned
    flat = face_mask(aligned.landmarks, aligned.image.shape, lift_eyebrows=0.0)
    lifted = face_mask(aligned.landmarks, aligned.image.shape, lift_eyebrows=0.5)
    assert lifted.sum() > flat.sum() * 1.02
    assert np.argmax(lifted.max(axis=1) > 0.5) < np.argmax(flat.max(axis=1) > 0.5)  # topmost row rises
    chin = round(aligned.landmarks[152, 1])
    np.testing.assert_allclose(lifted[chin - 20 :], flat[chin - 20 :], atol=1e-6)  # the jaw does not move


def test_softness_scales_with_face_size(samples) -> None:
    base = samples["face_frontal_a"].aligned.landmarks
    masks = {}
    for crop in (64, 512):
        landmarks = base.copy()
        landmarks[:, :2] *= crop / 256
        masks[crop] = face_mask(landmarks, (crop, crop))
    big_down = cv2.resize(masks[512], (64, 64), interpolation=cv2.INTER_AREA)
    assert np.abs(big_down - masks[64]).mean() < 0.02

    def band(mask: np.ndarray) -> float:
        return float(((mask > 0.05) & (mask < 0.95)).mean())  # soft area relative to the whole crop

    assert band(masks[64]) == pytest.approx(band(masks[512]), rel=0.15)


def test_exclude_mouth_cuts_the_mouth_opening(samples) -> None:
    aligned = samples["face_lookup_g"].aligned  # mouth open
    inner = aligned.landmarks[list(regions.MOUTH_INNER)]
    centre = inner[:, :2].mean(axis=0, keepdims=True)
    full = face_mask(aligned.landmarks, aligned.image.shape)
    cut = face_mask(aligned.landmarks, aligned.image.shape, exclude_mouth=True)
    assert _at(full, centre)[0] > 0.95
    assert _at(cut, centre)[0] < 0.05
    nose = aligned.landmarks[[1]]
    assert _at(cut, nose)[0] == pytest.approx(_at(full, nose)[0])
    assert _at(cut, aligned.landmarks[[0]])[0] > 0.5  # the outer upper lip is still swapped


def test_exclude_eyes_cuts_both_eyes(samples) -> None:
    aligned = samples["face_frontal_b"].aligned
    cut = face_mask(aligned.landmarks, aligned.image.shape, exclude_eyes=True)
    for eye, iris_centre in ((regions.LEFT_EYE, 473), (regions.RIGHT_EYE, 468)):
        assert _at(cut, aligned.landmarks[[iris_centre]])[0] < 0.05
        assert _at(cut, aligned.landmarks[list(eye)]).max() < 0.5
    assert _at(cut, aligned.landmarks[[1, 13]]).min() > 0.95  # nose tip and lips stay


def test_box_mask_is_a_feathered_ellipse(samples) -> None:
    aligned = samples["face_frontal_a"].aligned
    mask = box_mask(aligned.landmarks, aligned.image.shape)
    assert mask.dtype == np.float32 and mask.min() >= 0.0 and mask.max() <= 1.0
    assert (_at(mask, aligned.landmarks[:468]) > 0.5).mean() > 0.85
    soft = (mask > 0.05) & (mask < 0.95)
    assert soft.any()
    assert mask[0].max() == 0 and mask[-1].max() < 0.5  # top of the crop is background


@pytest.mark.parametrize("draw", [face_mask, box_mask])
def test_landmark_masks_share_one_signature(samples, draw) -> None:
    aligned = samples["face_lookup_g"].aligned
    mask = draw(
        aligned.landmarks,
        aligned.image.shape,
        lift_eyebrows=0.3,
        erode=0.03,
        feather=0.02,
        exclude_mouth=True,
        exclude_eyes=True,
    )
    assert mask.shape == aligned.image.shape[:2] and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    assert _at(mask, aligned.landmarks[[1]])[0] > 0.9


def test_mask_in_frame_space_and_partly_outside(samples) -> None:
    sample = samples["face_frontal_a"]
    h, w = sample.image.shape[:2]
    mask = face_mask(sample.landmarks, (h, w))
    assert (_at(mask, sample.landmarks[:468]) > 0.5).mean() > 0.85
    shifted = sample.landmarks.copy()
    shifted[:, 0] -= sample.landmarks[1, 0]  # nose tip on the left edge: half the face is outside
    half = face_mask(shifted, (h, w))
    visible = shifted[:468][(shifted[:468, 0] > 10)]
    assert half.shape == (h, w) and (_at(half, visible) > 0.5).mean() > 0.8
    gone = sample.landmarks.copy()
    gone[:, 0] += 10 * w
    assert not face_mask(gone, (h, w)).any()


def test_combine_masks_is_the_minimum() -> None:
    a = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    b = a[::-1].copy()
    np.testing.assert_array_equal(combine_masks(a, b), np.minimum(a, b))
    np.testing.assert_array_equal(combine_masks(a), a)
    with pytest.raises(ValueError):
        combine_masks()


def test_bad_landmarks_are_rejected() -> None:
    with pytest.raises(ValueError, match="FaceMesh landmarks"):
        face_mask(np.zeros((68, 2), np.float32), (64, 64))
