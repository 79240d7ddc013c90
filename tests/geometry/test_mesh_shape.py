"""Identity shape on real faces: outline, eyes and lips move toward the source's; the target's mouth
opening and eye openness stay."""

import numpy as np
import pytest

from faceforge.geometry import landmark_regions as regions
from faceforge.geometry.alignment import TEMPLATES, align_face
from faceforge.geometry.mesh_shape import shape_offsets
from faceforge.geometry.mesh_symmetry import MESH_MIRROR
from faceforge.geometry.mesh_topology import FACE_OVAL


def _crop_landmarks(analyser, photo, name: str) -> np.ndarray:
    image = photo(name)
    return align_face(image, analyser.faces(image)[0], TEMPLATES["full-face"], 256).landmarks


def _jaw_ratio(points: np.ndarray) -> float:
    """Jaw-angle width (FaceMesh 172-397) over the outer eye-corner distance (33-263)."""
    return float(np.linalg.norm(points[172] - points[397]) / np.linalg.norm(points[33] - points[263]))


def _distance(points: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(points[a, :2] - points[b, :2]))


def _eye_openness(points: np.ndarray, eye: int) -> float:
    """Gap between the lids (159-145) over the eye's width (33-133); ``eye`` 1 is the subject's left."""
    upper, lower, outer, inner = (int(MESH_MIRROR[p]) if eye else p for p in (159, 145, 33, 133))
    return _distance(points, upper, lower) / _distance(points, outer, inner)


def _eye_width_over_spacing(points: np.ndarray) -> float:
    """The right eye's width (33-133) over the distance between the inner corners (133-362)."""
    return _distance(points, 33, 133) / _distance(points, 133, 362)


def _lip_thickness(points: np.ndarray) -> float:
    """Upper (0-13) plus lower (17-14) lip thickness over the mouth's width (61-291)."""
    return (_distance(points, 0, 13) + _distance(points, 17, 14)) / _distance(points, 61, 291)


@pytest.mark.parametrize(
    ("source", "target"),
    [("face_frontal_b.jpg", "face_frontal_a.jpg"), ("face_darkskin_i.jpg", "face_lookup_g.jpg")],
)
def test_the_targets_mouth_opening_and_eye_openness_stay(analyser, photo, source, target):
    """The inner lip line does not move at all (face_lookup_g's mouth is wide open), each eye opens as
    wide as the target's (within 5 %: blinks follow the target), and an eye named in keep_eyes does
    not move."""
    source_points = _crop_landmarks(analyser, photo, source)
    target_points = _crop_landmarks(analyser, photo, target)
    offsets = shape_offsets(source_points, target_points)
    assert offsets.shape == (468, 3)
    np.testing.assert_array_equal(offsets[list(regions.MOUTH_INNER)], 0.0)
    moved = target_points[:468] + offsets
    for eye in (0, 1):
        assert _eye_openness(moved, eye) == pytest.approx(_eye_openness(target_points, eye), rel=0.05)
    kept = shape_offsets(source_points, target_points, keep_eyes=(True, True))
    np.testing.assert_array_equal(
        kept[list(regions.RIGHT_EYE) + MESH_MIRROR[list(regions.RIGHT_EYE)].tolist()], 0.0
    )
    assert np.abs(kept[list(FACE_OVAL)]).max() > 1.0  # while the outline does move (crop pixels)


@pytest.mark.parametrize(
    ("source", "target"),
    [("face_frontal_b.jpg", "face_frontal_a.jpg"), ("face_frontal_a.jpg", "face_frontal_b.jpg")],
)
def test_eyes_and_lips_take_the_sources_shape(analyser, photo, source, target):
    """face_frontal_b has wider eyes for their spacing (0.93 vs 0.76) and fuller lips
    (0.38 vs 0.25 of the mouth's width) than face_frontal_a; at strength 1 the moved mesh covers most
    of each gap, both ways (measured 82-91 %)."""
    source_points = _crop_landmarks(analyser, photo, source)
    target_points = _crop_landmarks(analyser, photo, target)
    moved = target_points[:468] + shape_offsets(source_points, target_points)
    for measure in (_eye_width_over_spacing, _lip_thickness):
        gap = measure(source_points) - measure(target_points)
        assert abs(gap) > 0.1
        assert (measure(moved) - measure(target_points)) / gap > 0.7


def test_the_outline_moves_to_the_sources(analyser, photo):
    """face_frontal_b's jaw is narrower than face_frontal_a's (1.16 vs 1.32 eye spacings): at strength 1
    the moved mesh closes most of the gap (measured 1.20), at 0.5 about half of it."""
    source = _crop_landmarks(analyser, photo, "face_frontal_b.jpg")
    target = _crop_landmarks(analyser, photo, "face_frontal_a.jpg")
    offsets = shape_offsets(source, target)
    gap = _jaw_ratio(target) - _jaw_ratio(source)
    assert gap > 0.1
    full = _jaw_ratio(target[:468] + offsets)
    half = _jaw_ratio(target[:468] + 0.5 * offsets)
    assert _jaw_ratio(target) - full > 0.6 * gap
    assert 0.3 * gap < _jaw_ratio(target) - half < 0.7 * gap


def test_an_open_mouthed_target_keeps_its_jaw_drop(analyser, photo):
    """A closed-mouth source on face_lookup_g (mouth open): the chin is not pulled up toward the lips by the
    source's shorter, closed-mouth face length."""
    source = _crop_landmarks(analyser, photo, "face_frontal_b.jpg")
    target = _crop_landmarks(analyser, photo, "face_lookup_g.jpg")
    moved = target[:468] + shape_offsets(source, target)

    def lip_to_chin(points: np.ndarray) -> float:
        return float(np.linalg.norm(points[14] - points[152]))

    assert lip_to_chin(moved) > 0.9 * lip_to_chin(target[:468])
