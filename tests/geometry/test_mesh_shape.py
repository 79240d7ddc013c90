"""Identity shape on real faces: the outline moves toward the source's, the features do not move."""

import numpy as np
import pytest

from faceforge.geometry.alignment import TEMPLATES, align_face
from faceforge.geometry.mesh_shape import protected_points, shape_offsets
from faceforge.geometry.mesh_topology import FACE_OVAL


def _crop_landmarks(analyser, photo, name: str) -> np.ndarray:
    image = photo(name)
    return align_face(image, analyser.faces(image)[0], TEMPLATES["full-face"], 256).landmarks


def _jaw_ratio(points: np.ndarray) -> float:
    """Jaw-angle width (FaceMesh 172-397) over the outer eye-corner distance (33-263)."""
    return float(np.linalg.norm(points[172] - points[397]) / np.linalg.norm(points[33] - points[263]))


@pytest.mark.parametrize(
    ("source", "target"),
    [("face_frontal_b.jpg", "face_frontal_a.jpg"), ("face_darkskin_i.jpg", "face_lookup_g.jpg")],
)
def test_eyes_brows_nose_and_lips_are_not_moved(analyser, photo, source, target):
    """The field is exactly zero on every eye, brow, nose and lip point, so the target's eye openness,
    brow raise and mouth opening (face_lookup_g's is wide open) are the target's own."""
    source_points = _crop_landmarks(analyser, photo, source)
    offsets = shape_offsets(source_points, _crop_landmarks(analyser, photo, target))
    assert offsets.shape == (468, 3)
    np.testing.assert_array_equal(offsets[protected_points()], 0.0)
    assert np.abs(offsets[list(FACE_OVAL)]).max() > 1.0  # while the outline does move (crop pixels)


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
