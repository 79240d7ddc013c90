"""Paste-back of crops into real frames: only the face's region changes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceforge.compose import face_mask, paste_back, poisson_blend, roi_of


def _support_in_frame(crop_mask: np.ndarray, matrix: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Where the crop mask lands in the frame (full-frame warp), grown by a pixel for rounding."""
    full = cv2.warpAffine(
        crop_mask, matrix, (shape[1], shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    )
    return cv2.dilate((full > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def test_roi_of_maps_the_crop_corners() -> None:
    scale = 0.5  # frame -> crop: the crop shows the frame at half size
    matrix = np.array([[scale, 0, -50], [0, scale, -20]], np.float64)  # crop origin at frame (100, 40)
    x0, y0, x1, y1 = roi_of(matrix, 256, (1000, 1000, 3))
    assert (x0, y0) <= (100, 40) and x0 >= 97 and y0 >= 37
    assert x1 >= 100 + 512 and x1 <= 100 + 512 + 4 and y1 >= 40 + 512 and y1 <= 40 + 512 + 4
    assert roi_of(matrix, 256, (300, 200, 3)) == (x0, y0, 200, 300)  # clipped to the frame
    assert roi_of(matrix, (256, 128), (1000, 1000))[2] < x1  # (height, width) crops
    gone = np.array([[1.0, 0, 5000], [0, 1.0, 0]])
    assert roi_of(gone, 256, (720, 1280, 3)) == (0, 0, 0, 0)


def test_roi_of_a_rotated_crop_covers_its_corners() -> None:
    angle = np.deg2rad(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = np.hstack([rotation, [[10.0], [-300.0]]])
    x0, y0, x1, y1 = roi_of(matrix, 256, (2000, 2000))
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [256, 0], [0, 256], [256, 256]], float) @ inverse[:, :2].T + inverse[:, 2]
    assert x0 <= corners[:, 0].min() and corners[:, 0].max() <= x1
    assert y0 <= corners[:, 1].min() and corners[:, 1].max() <= y1


def test_paste_back_changes_only_the_masked_face(samples) -> None:
    sample = samples["face_frontal_a"]
    target = sample.aligned
    swapped = samples["face_frontal_b"].aligned.image
    mask = face_mask(target.landmarks, target.image.shape)
    out = paste_back(sample.image, swapped, mask, target.matrix)
    assert out.shape == sample.image.shape and out.dtype == np.uint8
    assert out is not sample.image

    x0, y0, x1, y1 = roi_of(target.matrix, target.image.shape[0], sample.image.shape)
    outside_roi = np.ones(sample.image.shape[:2], bool)
    outside_roi[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(out[outside_roi], sample.image[outside_roi])
    support = _support_in_frame(mask, target.matrix, sample.image.shape)
    assert support.mean() < 0.5
    np.testing.assert_array_equal(out[~support], sample.image[~support])

    face = face_mask(sample.landmarks, sample.image.shape[:2]) > 0.9
    changed = np.abs(out[face].astype(np.int16) - sample.image[face]).mean()
    assert changed > 10


def test_pasting_the_target_crop_back_is_near_identity(samples) -> None:
    sample = samples["face_frontal_b"]
    target = sample.aligned
    mask = face_mask(target.landmarks, target.image.shape)
    out = paste_back(sample.image, target.image, mask, target.matrix)
    face = face_mask(sample.landmarks, sample.image.shape[:2]) > 0.5
    diff = np.abs(out.astype(np.int16) - sample.image)
    assert diff[face].mean() < 3  # only the two resamplings' blur


def test_paste_back_lands_where_the_matrix_says() -> None:
    frame = np.zeros((400, 600, 3), np.uint8)
    matrix = np.array([[2.0, 0, -300], [0, 2.0, -200]])  # crop = 2 * (frame - (150, 100))
    crop = np.full((128, 128, 3), 255, np.uint8)
    crop_mask = np.zeros((128, 128), np.float32)
    crop_mask[40:80, 20:60] = 1.0  # crop x 20..59, y 40..79 -> frame x 160..179.5, y 120..139.5
    out = paste_back(frame, crop, crop_mask, matrix)
    assert out[125:135, 165:175].min() == 255
    ys, xs = np.nonzero(out[..., 0] > 127)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (160, 179, 120, 139)


@pytest.mark.parametrize("side", ["left", "right", "top"])
def test_face_partly_outside_the_frame(samples, aligner, side: str) -> None:
    """The frame is cut through the nose tip, so half of the face (and of the crop) lies outside it."""
    sample = samples["face_frontal_a"]
    nose_x, nose_y = (int(v) for v in sample.landmarks[1, :2])
    landmarks = sample.landmarks.copy()
    if side == "left":
        frame = sample.image[:, nose_x:]
        landmarks[:, 0] -= nose_x
    elif side == "right":
        frame = sample.image[:, :nose_x]
    else:
        frame = sample.image[nose_y:]
        landmarks[:, 1] -= nose_y
    frame = np.ascontiguousarray(frame)
    target = aligner(frame, landmarks)
    mask = face_mask(target.landmarks, target.image.shape)
    swapped = samples["face_frontal_b"].aligned.image
    support = _support_in_frame(mask, target.matrix, frame.shape)
    for kwargs in ({}, {"blend": poisson_blend}):
        out = paste_back(frame, swapped, mask, target.matrix, **kwargs)
        assert out.shape == frame.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out[~support], frame[~support])
        assert np.abs(out[support].astype(np.int16) - frame[support]).mean() > 5


def test_crop_wholly_outside_the_frame_changes_nothing(samples) -> None:
    sample = samples["face_frontal_a"]
    target = sample.aligned
    matrix = target.matrix.copy()
    matrix[0, 2] += 10_000  # the frame lies far left of the crop
    mask = face_mask(target.landmarks, target.image.shape)
    out = paste_back(sample.image, samples["face_frontal_b"].aligned.image, mask, matrix)
    np.testing.assert_array_equal(out, sample.image)
