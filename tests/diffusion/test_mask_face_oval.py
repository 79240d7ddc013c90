"""The inpainting mask on real photos: it covers the whole FaceMesh face oval and nothing far outside it."""

import cv2
import numpy as np
import pytest

from faceforge.compose.masks import face_size
from faceforge.diffusion.mask import inpaint_mask
from faceforge.geometry import landmark_regions as regions

PHOTOS = ["face_frontal_a.jpg", "face_frontal_b.jpg", "face_lowkey_c.jpg", "face_glasses_e.png"]


def _oval_and_distance(landmarks: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The filled oval and each pixel's distance (px) to it."""
    oval = np.zeros(shape, np.uint8)
    cv2.fillPoly(oval, [np.round(landmarks[list(regions.FACE_OVAL), :2]).astype(np.int32)], 1)
    return oval.astype(bool), cv2.distanceTransform(1 - oval, cv2.DIST_L2, 5)


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("hair_margin", [0.0, 0.15])
def test_mask_covers_the_oval_and_stays_near_it(analyser, photo, name: str, hair_margin: float) -> None:
    image = photo(name)
    face = analyser.faces(image)[0]
    shape = image.shape[:2]
    mask = inpaint_mask(face.landmarks, shape, hair_margin=hair_margin, blur=0.03)
    assert mask.dtype == np.float32 and mask.shape == shape and mask.min() >= 0.0 and mask.max() <= 1.0
    oval, distance = _oval_and_distance(face.landmarks, shape)
    # The whole oval is repainted (its edge pixels included, at most a few rasterising stragglers).
    assert np.mean(mask[oval] >= 0.97) > 0.995
    # Nothing beyond the hair margin plus the blur's reach (2 sigma push, then the tail) is touched.
    size = face_size(face.landmarks)
    reach = (hair_margin + 8 * 0.03) * size + 2
    assert not mask[distance > reach].any()
    # The soft edge is outside the oval, and with a margin the mask reaches further out.
    assert mask[(distance > 0) & (distance < 0.02 * size)].mean() > 0.9
    ring = (distance > 0.1 * size) & (distance < 0.12 * size)
    if hair_margin:
        assert mask[ring].mean() > 0.9
    else:
        assert mask[ring].mean() < 0.5
