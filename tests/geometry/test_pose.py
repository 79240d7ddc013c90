import cv2
import numpy as np
import pytest

from faceforge.geometry.pose import head_pose


def _pose(analyser, image):
    faces = analyser.faces(np.ascontiguousarray(image))
    assert faces, "the test face was not found"
    return head_pose(faces[0].landmarks)


@pytest.mark.parametrize("name", ["face_frontal_a.jpg", "face_grayscale_d.jpg", "face_profile_f.jpg"])
def test_mirroring_flips_yaw_and_roll_but_not_pitch(analyser, photo, name):
    image = photo(name)
    yaw, pitch, roll = _pose(analyser, image)
    m_yaw, m_pitch, m_roll = _pose(analyser, image[:, ::-1])
    assert abs(yaw + m_yaw) < 5
    assert abs(roll + m_roll) < 5
    assert abs(pitch - m_pitch) < 8


def test_turned_faces_read_as_turned(analyser, photo):
    assert abs(_pose(analyser, photo("face_frontal_b.jpg"))[0]) < 10
    assert abs(_pose(analyser, photo("face_profile_f.jpg"))[0]) > 35
    assert abs(_pose(analyser, photo("face_grayscale_d.jpg"))[0]) > 15


def test_looking_up_has_higher_pitch_than_a_level_face(analyser, photo):
    assert (
        _pose(analyser, photo("face_lookup_g.jpg"))[1] > _pose(analyser, photo("face_frontal_b.jpg"))[1] + 20
    )


def test_rotating_the_image_changes_roll_by_the_same_angle(analyser, photo):
    image = photo("face_frontal_b.jpg")
    h, w = image.shape[:2]
    rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0), (w, h))
    roll_change = _pose(analyser, rotated)[2] - _pose(analyser, image)[2]
    # OpenCV's positive angle turns the picture counter-clockwise.
    assert abs(abs(roll_change) - 20) < 3
