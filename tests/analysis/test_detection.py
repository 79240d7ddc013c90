import numpy as np
import pytest

from faceforge.analysis.detection import non_max_suppression, tile_grid
from faceforge.types import Detection

SINGLE_FACES = [
    "face_frontal_a.jpg",
    "face_frontal_b.jpg",
    "face_lowkey_c.jpg",
    "face_grayscale_d.jpg",
    "face_glasses_e.png",
    "face_profile_f.jpg",
    "face_lookup_g.jpg",
    "face_roll_h.png",
    "face_darkskin_i.jpg",
    "face_aligned_112.png",
]


@pytest.mark.parametrize("name", SINGLE_FACES)
def test_each_portrait_has_exactly_one_face_with_478_landmarks(analyser, photo, name):
    faces = analyser.faces(photo(name))
    assert len(faces) == 1
    assert faces[0].landmarks.shape == (478, 3)
    h, w = photo(name).shape[:2]
    assert faces[0].size > 0.1 * min(h, w)


def test_group_photos_find_the_faces_a_person_sees(analyser, photo):
    # SOURCES.md: 3 faces; 6 clear faces (40-60 px) plus ~4 small or turned-away ones; ~24 in the collage.
    assert len(analyser.faces(photo("group_3faces.jpg"))) == 3
    assert 6 <= len(analyser.faces(photo("group_6faces_dinner.jpg"))) <= 10
    assert 20 <= len(analyser.faces(photo("group_collage_many.jpg"))) <= 30


def test_faces_are_returned_largest_first(analyser, photo):
    sizes = [f.size for f in analyser.faces(photo("group_collage_many.jpg"))]
    assert sizes == sorted(sizes, reverse=True)


def test_no_face_in_a_blank_or_noise_image(analyser):
    assert analyser.faces(np.full((480, 640, 3), 128, np.uint8)) == []
    rng = np.random.default_rng(0)
    assert analyser.faces(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)) == []


def test_tiles_cover_the_whole_image_with_overlap():
    tiles = tile_grid(1545, 1986, 640, 0.25)
    covered = np.zeros((1545, 1986), bool)
    for x0, y0, x1, y1 in tiles:
        assert x1 - x0 == 640 and y1 - y0 == 640
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    assert tile_grid(500, 600, 640, 0.25) == []


def test_nms_keeps_the_best_of_overlapping_boxes_and_drops_cut_faces():
    def det(box, score):
        return Detection(np.array(box, np.float32), score, np.zeros((6, 2), np.float32))

    kept = non_max_suppression(
        [
            det([0, 0, 100, 100], 0.8),
            det([5, 5, 105, 105], 0.9),
            det([0, 0, 40, 100], 0.7),
            det([300, 0, 400, 100], 0.6),
        ],
        iou=0.35,
    )
    assert [k.score for k in kept] == [0.9, 0.6]
