import numpy as np
import pytest

from faceforge.geometry.alignment import TEMPLATES, anchor_points
from faceforge.geometry.ghost_crop import FRONTAL_POSE, GHOST_POSE_TEMPLATES, ghost_alignment


def _moved(points: np.ndarray, angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    angle = np.radians(angle_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return points @ (scale * rotation).T + np.array(shift)


def test_the_frontal_template_is_arcface_112_v1():
    # InsightFace 0.2.1's "---frontal" template at 112 px, written out: the module takes it from
    # arcface_112_v1, so this is what pins both to GHOST's numbers.
    insightface_frontal = [
        (39.730, 51.138),
        (72.270, 51.138),
        (56.000, 68.493),
        (42.463, 87.010),
        (69.537, 87.010),
    ]
    np.testing.assert_allclose(GHOST_POSE_TEMPLATES[FRONTAL_POSE], insightface_frontal, atol=1e-9)
    np.testing.assert_allclose(GHOST_POSE_TEMPLATES[FRONTAL_POSE] / 112, TEMPLATES["arcface_112_v1"].points)
    assert GHOST_POSE_TEMPLATES.shape == (5, 5, 2)


@pytest.mark.parametrize("index", range(5))
def test_points_laid_out_as_a_template_pick_it_and_land_on_it(index):
    frame_points = _moved(GHOST_POSE_TEMPLATES[index], 17.0, 3.1, (250.0, 90.0))
    matrix, chosen = ghost_alignment(frame_points, size=224)
    assert chosen == index
    landed = frame_points @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(landed, GHOST_POSE_TEMPLATES[index] * 2, atol=1e-6)


def test_mirrored_faces_pick_mirrored_templates():
    left = GHOST_POSE_TEMPLATES[1]
    mirrored = np.stack([112 - left[:, 0], left[:, 1]], axis=1)[[1, 0, 2, 4, 3]]
    assert ghost_alignment(mirrored)[1] == 3


def test_without_poses_the_frontal_template_is_used():
    frame_points = _moved(GHOST_POSE_TEMPLATES[0], -5.0, 2.0, (40.0, 10.0))
    matrix, chosen = ghost_alignment(frame_points, size=256, poses=False)
    assert chosen == FRONTAL_POSE
    landed = frame_points @ matrix[:, :2].T + matrix[:, 2]
    # The profile layout does not fit the frontal template: the fit leaves residuals of many pixels.
    assert np.abs(landed - TEMPLATES["arcface_112_v1"].scaled(256)).max() > 10


def test_bad_point_arrays_are_refused():
    with pytest.raises(ValueError, match="five"):
        ghost_alignment(np.zeros((68, 2)))


@pytest.mark.parametrize("name", ["face_frontal_a.jpg", "face_frontal_b.jpg"])
def test_a_frontal_photo_gets_the_frontal_template(analyser, photo, name):
    face = analyser.faces(photo(name))[0]
    assert ghost_alignment(anchor_points(face.landmarks))[1] == FRONTAL_POSE


def test_a_turned_head_gets_a_side_template_facing_its_way(analyser, photo):
    five = anchor_points(analyser.faces(photo("face_profile_f.jpg"))[0].landmarks)
    _, chosen = ghost_alignment(five)
    # The nose points to the image's left of the eyes' midpoint: one of the two left-facing templates.
    assert five[2, 0] < five[:2, 0].mean()
    assert chosen in (0, 1)
