"""The mesh swapper's moved surroundings: a narrower jaw covers the target's old jaw line."""

import cv2
import numpy as np
import pytest

from faceforge.compose.compositor import ComposeOptions, Compositor
from faceforge.geometry.alignment import align_face
from faceforge.geometry.mesh_topology import FACE_OVAL
from faceforge.swappers.mesh import MeshSwapOptions, MeshSwapper
from faceforge.types import SourceIdentity

CHIN = 152


def _swap(analyser, photo, source_name, target_name, shape=1.0):
    swapper = MeshSwapper(MeshSwapOptions(shape=shape))
    source, target = photo(source_name), photo(target_name)
    prepared = swapper.prepare_source(SourceIdentity(views=((source, analyser.faces(source)[0]),)))
    aligned = align_face(target, analyser.faces(target)[0], swapper.template, swapper.crop_size)
    (result,) = swapper.swap([aligned], prepared)
    return target, aligned, result


@pytest.fixture(scope="module")
def narrowed(analyser, photo):
    """face_roll_h (a narrow, short face) on face_frontal_a: the jaw moves well inside the target's."""
    return _swap(analyser, photo, "face_roll_h.png", "face_frontal_a.jpg")


def test_surroundings_cover_the_old_jaw_line_and_end_at_the_outer_ring(narrowed):
    _, aligned, result = narrowed
    surroundings = result.surroundings
    assert surroundings is not None and surroundings.shape == (256, 256)
    assert surroundings.dtype == np.float32 and surroundings.min() >= 0.0 and surroundings.max() <= 1.0
    points = aligned.landmarks[:468, :2]
    chin = np.round(points[CHIN]).astype(int)
    # On and just below the target's own chin: the moved surroundings, in full.
    assert surroundings[chin[1] : chin[1] + 4, chin[0] - 2 : chin[0] + 3].min() > 0.99
    # Beyond the outer ring (0.3 face radii outside the oval) nothing moved, so nothing is pasted there.
    centre = points.mean(axis=0)
    outer = np.zeros((256, 256), np.uint8)
    cv2.fillPoly(outer, [np.round(centre + (points[list(FACE_OVAL)] - centre) * 1.3).astype(np.int32)], 1)
    assert surroundings[outer == 0].max() == 0.0
    # Where the swapper's face mask is, the face is pasted: the surroundings are only what lies outside it.
    assert np.all(surroundings[result.mask > 0.99] < 1e-6)


def test_no_surroundings_move_without_shape(analyser, photo):
    _, _, result = _swap(analyser, photo, "face_roll_h.png", "face_frontal_a.jpg", shape=0.0)
    assert result.surroundings is not None and not result.surroundings.any()


def test_moved_surroundings_are_pasted_as_drawn_not_colour_matched(narrowed):
    """Under the new chin the output is the swapper's crop itself (the target's own neck, moved up), while
    the face above it is colour-matched; the target's dark jaw line there (L* 128 in the frame, measured)
    is covered: 148 after, 130 when these pixels were not pasted."""
    target, aligned, result = narrowed
    compositor = Compositor(ComposeOptions(texture=False, occlusion=()))
    out = compositor.compose(target, aligned, result.image, result.mask, result.surroundings)
    only_surroundings = (result.surroundings > 0.99) & (result.mask < 0.01)
    assert only_surroundings.sum() > 200
    back = cv2.warpAffine(out, aligned.matrix, (256, 256), flags=cv2.INTER_LINEAR)
    inner = cv2.erode(only_surroundings.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert np.abs(back[inner].astype(int) - result.image[inner]).mean() < 4.0

    lightness = cv2.cvtColor(target, cv2.COLOR_RGB2LAB)[..., 0].astype(float)
    composed = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[..., 0].astype(float)
    landmarks = aligned.face.landmarks
    chin, length = landmarks[CHIN, :2], np.linalg.norm(landmarks[CHIN, :2] - landmarks[10, :2])
    x0, x1 = int(chin[0] - 0.08 * length), int(chin[0] + 0.08 * length)
    y0, y1 = int(chin[1] - 0.01 * length), int(chin[1] + 0.04 * length)
    jaw_line = lightness[y0:y1, x0:x1].mean()
    assert composed[y0:y1, x0:x1].mean() > jaw_line + 10, (composed[y0:y1, x0:x1].mean(), jaw_line)
