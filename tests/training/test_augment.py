"""Augmentation: identity when switched off, warps only the input, flips and rotations move the landmarks."""

import dataclasses

import cv2
import numpy as np
import pytest

from faceforge.compose.masks import face_mask
from faceforge.training.augment import (
    NO_AUGMENT,
    AugmentOptions,
    augment,
    jitter_lab,
    landmark_warp,
    random_warp,
)

SIZE = 64
IDENTITY = np.eye(3)[:2]


@pytest.fixture(scope="module")
def face(faceset_a):
    """A real crop at 64 px and its landmarks (crop pixels)."""
    from faceforge.facesets.store import FacesetStore

    with FacesetStore.open(faceset_a) as store:
        row = store.faces()[0]
        image = cv2.cvtColor(cv2.imread(str(store.path_of(row))), cv2.COLOR_BGR2RGB)
    crop = row.landmarks[:, :2] @ row.matrix[:, :2].T + row.matrix[:, 2]
    scale = SIZE / image.shape[0]
    image = cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return image, ((crop + 0.5) * scale - 0.5).astype(np.float32)


def _only(**changes) -> AugmentOptions:
    return dataclasses.replace(NO_AUGMENT, **changes)


def test_identity_options_return_the_input(face):
    image, points = face
    model_input, target, out_points = augment(
        image, points, IDENTITY, NO_AUGMENT, np.random.default_rng(0), 64, 64
    )
    assert np.array_equal(model_input, image) and np.array_equal(target, image)
    assert np.allclose(out_points, points, atol=1e-4)
    double = np.array([[2.0, 0.0, 0.5], [0.0, 2.0, 0.5]])  # 64 px -> the 128-px working square
    model_input, target, out_points = augment(
        image, points, double, NO_AUGMENT, np.random.default_rng(0), 32, 128
    )
    assert model_input.shape == (32, 32, 3) and target.shape == (128, 128, 3)
    assert np.abs(target.astype(float) - cv2.resize(image, (128, 128))).mean() < 2.0
    assert (
        np.abs(model_input.astype(float) - cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA)).mean()
        < 2.0
    )
    assert np.allclose(out_points, (points + 0.5) * 2 - 0.5, atol=1e-4)


def test_random_warp_changes_the_input_not_the_target(face):
    image, points = face
    model_input, target, _ = augment(
        image, points, IDENTITY, _only(random_warp=True), np.random.default_rng(1), 64, 64
    )
    assert np.array_equal(target, image)
    difference = np.abs(model_input.astype(float) - image).mean()
    assert 1.0 < difference < 40.0
    assert not np.array_equal(
        random_warp(image, np.random.default_rng(2)), random_warp(image, np.random.default_rng(3))
    )


def test_flip_mirrors_image_landmarks_and_masks(face):
    image, points = face
    _, target, flipped = augment(image, points, IDENTITY, _only(flip=1.0), np.random.default_rng(0), 64, 64)
    assert np.array_equal(target, image[:, ::-1])
    assert np.allclose(flipped[:, 0], SIZE - 1 - points[:, 0], atol=1e-4)
    assert np.allclose(flipped[:, 1], points[:, 1], atol=1e-4)
    mask, mirrored = face_mask(flipped, (SIZE, SIZE)), face_mask(points, (SIZE, SIZE))[:, ::-1]
    assert mask.mean() > 0.1 and np.abs(mask - mirrored).mean() < 0.01


def test_rotation_zoom_and_shift_move_the_landmarks_with_the_image():
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    points = np.array([[20.0, 24.0], [44.0, 40.0]], np.float32)
    cv2.circle(image, (20, 24), 2, (255, 255, 255), -1)
    options = _only(rotate_deg=30.0, zoom=0.2, shift=0.1)
    for seed in range(5):
        _, target, moved = augment(image, points, IDENTITY, options, np.random.default_rng(seed), 64, 64)
        ys, xs = np.nonzero(target[..., 0] > 128)
        assert np.hypot(xs.mean() - moved[0, 0], ys.mean() - moved[0, 1]) < 1.0


def test_a_region_crops_before_augmenting(face):
    image, points = face
    region = np.array([[2.0, 0.0, -32.0], [0.0, 2.0, -32.0]])  # the centre half, doubled
    _, target, moved = augment(image, points, region, NO_AUGMENT, np.random.default_rng(0), 64, 64)
    expected = cv2.warpAffine(
        image, region, (64, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
    )
    assert np.array_equal(target, expected)
    assert np.allclose(moved, points * 2 - 32, atol=1e-4)


def test_lab_jitter(face):
    image, _ = face
    assert jitter_lab(image, np.random.default_rng(0), 0.0) is image
    jittered = jitter_lab(image, np.random.default_rng(0), 0.1)
    assert jittered.dtype == np.uint8 and jittered.shape == image.shape
    shift = np.abs(jittered.astype(float) - image).mean()
    assert 0.5 < shift < 40


def test_warp_to_landmarks_moves_points_onto_the_other_face():
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    cv2.circle(image, (30, 30), 2, (255, 255, 255), -1)
    grid = np.array([(x, y) for x in (10.0, 30.0, 50.0) for y in (10.0, 30.0, 50.0)])
    same = landmark_warp(image, grid, grid)
    assert np.abs(same.astype(float) - image).mean() < 0.5
    moved = grid.copy()
    moved[4] = (36.0, 33.0)  # the centre point moves right and down
    warped = landmark_warp(image, grid, moved)
    ys, xs = np.nonzero(warped[..., 0] > 128)
    assert abs(xs.mean() - 36) < 1.0 and abs(ys.mean() - 33) < 1.0


def test_warp_to_landmarks_in_augment(face):
    image, points = face
    other = points + np.array([3.0, -2.0], np.float32)
    options = _only(warp_to_landmarks=1.0, random_warp=True)
    model_input, target, _ = augment(
        image, points, IDENTITY, options, np.random.default_rng(0), 64, 64, other
    )
    assert np.array_equal(target, image) and not np.array_equal(model_input, image)
    assert np.array_equal(model_input, landmark_warp(image, points[_warp_points()], other[_warp_points()]))


def _warp_points():
    from faceforge.training.augment import WARP_POINTS

    return WARP_POINTS


def test_options_are_checked():
    for bad in ({"flip": 1.5}, {"warp_to_landmarks": -0.1}, {"rotate_deg": -1.0}, {"zoom": 1.0}):
        with pytest.raises(ValueError):
            AugmentOptions(**bad)
