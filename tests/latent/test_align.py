"""FFHQ alignment on real faces: eyes and mouth land on the FFHQ template positions, the kept matrix
predicts where FaceMesh finds them again in the crop, and bad photos are one sentence."""

import numpy as np
import pytest

from faceforge.errors import InputError, NoFaceError
from faceforge.latent.align import align_ffhq, ffhq_geometry
from faceforge.latent.editor import choose_face

SIZE = 256
# Where FFHQ's 1024-px images have the eye centres and mouth centre (about (385, 480), (640, 480) and
# (512, 760)), at 256 px.
FFHQ_EYES = np.array([(95.5, 120.5), (159.5, 120.5)])
FFHQ_MOUTH = np.array((127.5, 190.5))


def _apply(matrix: np.ndarray, point: np.ndarray) -> np.ndarray:
    return matrix[:, :2] @ point + matrix[:, 2]


@pytest.mark.parametrize("name", ["face_frontal_a.jpg", "face_lookup_g.jpg", "group_3faces.jpg"])
def test_eyes_and_mouth_land_on_the_ffhq_template(name: str, photo, analyser) -> None:
    image = photo(name)
    alignment = align_ffhq(image, choose_face(analyser.faces(image), image, name), SIZE)
    geometry = alignment.geometry
    assert alignment.image.shape == (SIZE, SIZE, 3)
    eyes = np.stack(
        [_apply(alignment.matrix, geometry.eye_left), _apply(alignment.matrix, geometry.eye_right)]
    )
    assert np.abs(eyes - FFHQ_EYES).max() < 2.5
    assert np.abs(_apply(alignment.matrix, geometry.mouth) - FFHQ_MOUTH).max() < 3.0
    again = ffhq_geometry(choose_face(analyser.faces(alignment.image), alignment.image, "crop"))
    assert np.abs(again.eye_left - eyes[0]).max() < 1.5
    assert np.abs(again.eye_right - eyes[1]).max() < 1.5
    assert np.abs(again.mouth - _apply(alignment.matrix, geometry.mouth)).max() < 1.5


def test_a_face_off_the_edge_is_padded_and_still_lands_in_place(photo, analyser) -> None:
    """face_roll_h's square leaves the photo: the script's reflect padding fills it."""
    image = photo("face_roll_h.png")
    alignment = align_ffhq(image, choose_face(analyser.faces(image), image, "roll"), SIZE)
    quad = alignment.geometry.quad
    assert quad.min() < 0 or quad[:, 0].max() > image.shape[1] or quad[:, 1].max() > image.shape[0]
    again = ffhq_geometry(choose_face(analyser.faces(alignment.image), alignment.image, "crop"))
    assert np.abs(again.eye_left - _apply(alignment.matrix, alignment.geometry.eye_left)).max() < 1.5


def test_bad_photos_are_one_sentence(photo, analyser) -> None:
    small = np.ascontiguousarray(photo("face_frontal_a.jpg")[::5, ::5])
    faces = analyser.faces(small)
    assert faces, "the face is still found at a fifth of the size"
    with pytest.raises(InputError, match=r"too small for FFHQ alignment: its square is \d+ px"):
        align_ffhq(small, faces[0], SIZE)
    blank = np.full((200, 200, 3), 127, dtype=np.uint8)
    with pytest.raises(NoFaceError, match=r"No face was found in blank\.png\."):
        choose_face(analyser.faces(blank), blank, "blank.png")
    group = photo("group_3faces.jpg")
    with pytest.raises(NoFaceError, match=r"has 3 faces; --face-index 7 is not one of 0-2"):
        choose_face(analyser.faces(group), group, "group_3faces.jpg", face_index=7)
