import numpy as np
import pytest

from faceforge.geometry.alignment import TEMPLATES, align_face, anchor_points, similarity_transform


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, size=(5, 2))
    angle, scale, shift = np.radians(20), 1.7, np.array([12.0, -4.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ (scale * rotation).T + shift
    matrix = similarity_transform(src, dst)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_similarity_transform_never_reflects():
    src = np.array([[0, 0], [1, 0], [0, 1], [1, 1.2]])
    mirrored = src * np.array([-1.0, 1.0]) + np.array([0.1, 0.0]) * src[:, 1:]
    assert np.linalg.det(similarity_transform(src, mirrored)[:, :2]) >= 0


@pytest.mark.parametrize("name", ["face_frontal_a.jpg", "face_roll_h.png", "face_grayscale_d.jpg"])
def test_aligned_anchors_land_on_the_template(analyser, photo, name):
    image = photo(name)
    face = analyser.faces(image)[0]
    aligned = align_face(image, face, TEMPLATES["full-face"], 256)
    anchors = anchor_points(aligned.landmarks)
    target = TEMPLATES["full-face"].scaled(256)
    # Five points, four degrees of freedom: a least-squares fit. On a turned face the nose tip sits
    # off the template by up to ~5% of the crop; the eyes stay within a few pixels.
    assert np.abs(anchors - target).max() < 0.05 * 256
    assert np.abs(anchors[:2] - target[:2]).max() < 0.03 * 256
    # Roll is removed: the eyes are level in the crop, whatever the head's tilt in the photo.
    eye_right, eye_left = anchors[0], anchors[1]
    assert abs(np.degrees(np.arctan2(eye_left[1] - eye_right[1], eye_left[0] - eye_right[0]))) < 4
    assert aligned.image.shape == (256, 256, 3)
