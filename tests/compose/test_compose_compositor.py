"""The compose stage end to end on a 720p frame built from a real photo."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from faceforge.compose import BLENDERS, COLOR_TRANSFERS, MASKS, ComposeOptions, compose
from faceforge.geometry import landmark_regions as regions


@pytest.fixture(scope="module")
def scene(samples, aligner):
    """A 1280x720 frame holding the target face, its aligned crop and another face's crop."""
    sample = samples["face_lookup_g"]  # mouth open, eyes looking up
    frame = np.full((720, 1280, 3), 90, np.uint8)
    h, w = sample.image.shape[:2]
    ox, oy = 100, 20
    frame[oy : oy + min(h, 700), ox : ox + w] = sample.image[:700]
    landmarks = sample.landmarks.copy()
    landmarks[:, 0] += ox
    landmarks[:, 1] += oy
    return frame, aligner(frame, landmarks), samples["face_frontal_b"].aligned.image


COMBOS = list(itertools.product(sorted(MASKS), sorted(COLOR_TRANSFERS), sorted(BLENDERS)))


@pytest.mark.parametrize(("mask", "color", "blend"), COMBOS)
def test_every_registry_combination(scene, mask: str, color: str, blend: str) -> None:
    frame, target, swapped = scene
    options = ComposeOptions(mask=mask, color=color, blend=blend, keep_mouth=blend == "alpha")
    out = compose(frame, target, swapped, options)
    assert out.shape == frame.shape and out.dtype == np.uint8
    nose = target.face.landmarks[1, :2].astype(int)
    region = np.s_[nose[1] - 20 : nose[1] + 20, nose[0] - 20 : nose[0] + 20]
    assert np.abs(out[region].astype(np.int16) - frame[region]).mean() > 5
    np.testing.assert_array_equal(out[:, 900:], frame[:, 900:])  # far from the face


def test_defaults_and_keep_mouth_and_eyes(scene) -> None:
    frame, target, swapped = scene
    assert ComposeOptions().keep_mouth and not ComposeOptions().keep_eyes
    out = compose(frame, target, swapped, ComposeOptions(keep_mouth=False, keep_eyes=False))
    kept = compose(frame, target, swapped, ComposeOptions(keep_mouth=True, keep_eyes=True))
    landmarks = target.face.landmarks
    for ids in (regions.MOUTH_INNER, regions.LEFT_EYE, regions.RIGHT_EYE):
        x, y = landmarks[list(ids), :2].mean(axis=0).astype(int)
        np.testing.assert_array_equal(kept[y - 1 : y + 2, x - 1 : x + 2], frame[y - 1 : y + 2, x - 1 : x + 2])
        assert np.abs(
            out[y - 1 : y + 2, x - 1 : x + 2].astype(np.int16) - frame[y - 1 : y + 2, x - 1 : x + 2]
        ).any()


def test_swapper_mask_narrows_the_mask(scene) -> None:
    frame, target, swapped = scene
    nothing = np.zeros(target.image.shape[:2], np.float32)
    np.testing.assert_array_equal(compose(frame, target, swapped, swapper_mask=nothing), frame)
    left = nothing.copy()
    left[:, :128] = 1.0
    out = compose(frame, target, swapped, ComposeOptions(color="none"), swapper_mask=left)
    changed = np.abs(out.astype(np.int16) - frame).sum(axis=2) > 0
    inverse = cv2.invertAffineTransform(target.matrix)
    half_edge = np.array([[128.0, 0.0], [128.0, 256.0]]) @ inverse[:, :2].T + inverse[:, 2]
    assert changed.any()
    assert np.nonzero(changed)[1].max() <= half_edge[:, 0].max() + 2  # nothing right of the crop's middle
    with pytest.raises(ValueError, match="swapper mask"):
        compose(frame, target, swapped, swapper_mask=np.ones((10, 10), np.float32))


@pytest.mark.parametrize(
    ("field", "value", "listed"),
    [
        ("mask", "parsing", "box, landmarks"),
        ("color", "lut", "histogram, none, reinhard"),
        ("blend", "x", "alpha"),
    ],
)
def test_unknown_names_list_the_valid_ones(field: str, value: str, listed: str) -> None:
    with pytest.raises(ValueError, match=listed):
        ComposeOptions(**{field: value})


def test_swapped_crop_must_match_the_target_crop(scene) -> None:
    frame, target, swapped = scene
    with pytest.raises(ValueError, match="swapped crop"):
        compose(frame, target, swapped[:128])


class _BrightPixels:
    """An occlusion masker from outside the package: crop pixels brighter than 200 are occluders."""

    def __init__(self, options: ComposeOptions) -> None:
        self.options = options

    def __call__(self, context) -> np.ndarray:
        return (context.crop.max(axis=2) > 200).astype(np.float32)

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_registered_occlusion_masker_keeps_its_pixels(scene) -> None:
    from faceforge.compose import OCCLUSION_MASKS, Compositor, register_masker

    frame, target, _ = scene
    if "bright_test" not in OCCLUSION_MASKS:
        register_masker("bright_test", _BrightPixels, occlusion=True)
    with pytest.raises(ValueError, match="already registered"):
        register_masker("bright_test", _BrightPixels, occlusion=True)
    plain = Compositor(ComposeOptions(occlusion=())).face_mask(frame, target)
    compositor = Compositor(ComposeOptions(occlusion=("bright_test",)))
    cut = compositor.face_mask(frame, target)
    bright = target.image.max(axis=2) > 200
    assert cut.shape == plain.shape and cut.dtype == np.float32
    assert (cut[bright] == 0).all() and np.array_equal(cut[~bright], plain[~bright])
    compositor.close()
    with pytest.raises(ValueError, match="unknown occlusion mask"):
        ComposeOptions(occlusion=("nothing",))


def test_surroundings_are_pasted_as_drawn_and_occluders_keep_their_pixels(scene) -> None:
    """A swapper's moved surroundings go in beyond the face mask, without colour matching (a flat grey
    40 stays 40, where the shading transfer would lift it to the target's skin), and an occluder keeps the
    target's own pixels there too."""
    from faceforge.compose import OCCLUSION_MASKS, Compositor, register_masker

    frame, target, _ = scene
    if "bright_test" not in OCCLUSION_MASKS:
        register_masker("bright_test", _BrightPixels, occlusion=True)
    drawn = np.full_like(target.image, 40)
    everywhere = np.ones(target.image.shape[:2], np.float32)
    compositor = Compositor(ComposeOptions(occlusion=("bright_test",), seam=False, texture=False))
    out = compositor.compose(frame, target, drawn, np.zeros_like(everywhere), everywhere)
    compositor.close()
    size = target.image.shape[:2]
    back = cv2.warpAffine(out, target.matrix, size[::-1], flags=cv2.INTER_NEAREST)
    bright = (target.image.max(axis=2) > 200).astype(np.uint8)
    kernel = np.ones((5, 5), np.uint8)
    occluded, open_ = cv2.erode(bright, kernel).astype(bool), cv2.erode(1 - bright, kernel).astype(bool)
    border = np.zeros(size, bool)
    border[4:-4, 4:-4] = True  # the crop's own edge is resampled on the way back
    assert occluded[border].sum() > 100 and open_[border].sum() > 1000
    assert np.abs(back[open_ & border].astype(int) - 40).max() <= 1
    assert np.abs(back[occluded & border].astype(int) - target.image[occluded & border]).mean() < 3
