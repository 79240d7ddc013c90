"""What makes the compose stages safe as defaults: a greyscale source gets no colour the target's skin
does not have (it had an orange line at the forehead), and the shading's light and the seam's correction
are smoothed per track."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from conftest import TESTDATA, Sample, load_rgb, mesh_landmarks

from faceforge.api import swap_image
from faceforge.compose import ComposeOptions
from faceforge.compose.color import TrackShading, light_offset, reinhard, shading
from faceforge.compose.compositor import Compositor
from faceforge.compose.masks import face_size, skin_mask
from faceforge.compose.seam import match_seam
from faceforge.config import SwapConfig


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)


def test_a_greyscale_source_gets_no_colour_beyond_the_targets_skin() -> None:
    """grayscale_d on frontal_a: the yellow (b*) of every changed pixel stays within the target's bare
    skin's (its 99.5th percentile, 19.9, plus 3); before the chroma cap its 99.9th percentile was 33.9
    (max 50.7), an orange line along the forehead."""
    image = load_rgb("face_frontal_a.jpg")
    (landmarks,) = mesh_landmarks([image])
    skin_yellow = np.percentile(_lab(image)[..., 2][skin_mask(landmarks, image.shape) > 0], 99.5)
    out = swap_image([TESTDATA / "face_grayscale_d.jpg"], image, config=SwapConfig())
    changed = np.any(out != image, axis=2)
    assert changed.sum() > 10_000  # the face was swapped
    assert np.percentile(_lab(out)[..., 2][changed], 99.9) < skin_yellow + 3.0


def _side_lit(image: np.ndarray, step: float) -> np.ndarray:
    """``image`` lit brighter toward its right edge by up to ``step`` grey levels."""
    ramp = np.linspace(-step / 2, step / 2, image.shape[1], dtype=np.float32)[None, :, None]
    return np.clip(image.astype(np.float32) + ramp, 0, 255).astype(np.uint8)


def test_shading_light_is_smoothed_per_track(samples: dict[str, Sample]) -> None:
    """One track whose target light jumps from one side to the other: the light's tilt (the offset less
    its mean over the mask) moves a quarter of the way at the first frame after the jump, its level all
    the way; a new track, a track after ``reset()`` and a face without a track id (a still) are relit
    exactly as the stateless transfer does."""
    target = samples["face_frontal_a"].aligned
    source = samples["face_frontal_b"].aligned.image
    mask = skin_mask(target.landmarks, target.image.shape) / np.float32(255)
    left, right = _side_lit(target.image, -60), _side_lit(target.image, 60)
    moved = reinhard(source, right, mask)
    step = light_offset(moved, right, mask)
    assert step is not None
    first = light_offset(reinhard(source, left, mask), left, mask)
    assert first is not None and np.abs(step - first).max() > 10  # the light really jumps

    tracks = TrackShading()
    tracks(source, left, mask, None, 7)
    smoothed = tracks(source, right, mask, None, 7)
    fresh = tracks(source, right, mask, None, 8)
    np.testing.assert_array_equal(fresh, shading(source, right, mask))
    inside = mask > 0.5
    applied = _lab(smoothed)[..., 0] - _lab(moved)[..., 0]
    first_tilt, step_tilt = first - first[inside].mean(), step - step[inside].mean()
    expected = step[inside].mean() + first_tilt + 0.25 * (step_tilt - first_tilt)
    assert np.abs(applied[inside] - expected[inside]).mean() < 1.0  # L*, 8-bit rounding
    jump = np.abs(step[inside] - first[inside]).mean()
    assert np.abs(applied[inside] - step[inside]).mean() > 0.6 * jump  # 0.75 of it is left

    tracks.reset()
    np.testing.assert_array_equal(tracks(source, right, mask, None, 7), fresh)
    np.testing.assert_array_equal(tracks(source, right, mask, None, None), fresh)


def _gap(face: np.ndarray, target: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The mean L*a*b* of ``face`` less ``target``'s over ``inside``."""
    return _lab(face)[inside].mean(axis=0) - _lab(target)[inside].mean(axis=0)


def test_shading_tone_gap_to_the_target_is_smoothed_per_track(samples: dict[str, Sample]) -> None:
    """The relit face's mean tone relative to the target's skin moves a tenth of the way per frame:
    a source whose cheek goes dark in one frame (a shadow the robust light fit leaves out) jumps the
    stateless result's gap to the target, the tracked result's by a tenth of that. A change of the
    target's own light passes at once: the gap, not the tone, is what is averaged."""
    target = samples["face_frontal_a"].aligned
    source = samples["face_frontal_b"].aligned.image
    mask = skin_mask(target.landmarks, target.image.shape) / np.float32(255)
    inside = mask > 0.5
    shadowed = source.copy()
    xs = np.nonzero(inside)[1]
    cheek = inside & (np.arange(mask.shape[1])[None, :] < np.percentile(xs, 30))
    shadowed[cheek] = shadowed[cheek] // 3
    clean_gap = _gap(shading(source, target.image, mask), target.image, inside)
    shadow_gap = _gap(shading(shadowed, target.image, mask), target.image, inside)
    assert abs(shadow_gap[0] - clean_gap[0]) > 2.0  # the stateless gap really jumps

    tracks = TrackShading()
    tracks(source, target.image, mask, None, 5)
    smoothed = _gap(tracks(shadowed, target.image, mask, None, 5), target.image, inside)
    expected = clean_gap + 0.1 * (shadow_gap - clean_gap)
    assert abs(smoothed[0] - expected[0]) < 0.3  # L*: 8-bit rounding
    assert np.abs(smoothed - expected).max() < 0.6  # a*, b*: also RGB gamut clipping of the shadow

    brighter = np.clip(target.image.astype(np.int16) + 25, 0, 255).astype(np.uint8)
    tracks.reset()
    tracks(source, target.image, mask, None, 5)
    relit = tracks(source, brighter, mask, None, 5)
    followed = _gap(relit, shading(source, target.image, mask), inside)[0]
    assert abs(followed - _gap(brighter, target.image, inside)[0]) < 0.5  # L*


def test_compositor_reset_forgets_the_shading(samples: dict[str, Sample]) -> None:
    target = samples["face_frontal_a"].aligned
    tracked = replace(target, face=replace(target.face, track_id=3))
    dark = replace(tracked, image=_side_lit(target.image, -60))
    frame = samples["face_frontal_a"].image
    source = samples["face_frontal_b"].aligned.image
    compositor = Compositor(ComposeOptions(color="shading", occlusion=()))
    try:
        alone = compositor.compose(frame, tracked, source)
        compositor.compose(frame, dark, source)
        assert not np.array_equal(compositor.compose(frame, tracked, source), alone)
        compositor.reset()
        np.testing.assert_array_equal(compositor.compose(frame, tracked, source), alone)
    finally:
        compositor.close()


def test_the_seam_applies_the_tracks_averaged_correction(samples: dict[str, Sample]) -> None:
    """``match_seam`` hands its crop-size correction to the track's average and applies what comes back:
    an average of nothing changes nothing, the identity average is the plain seam."""
    target = samples["face_frontal_a"].aligned
    face = samples["face_frontal_b"].aligned.image
    mask = cv2.GaussianBlur(skin_mask(target.landmarks, target.image.shape), (0, 0), 6) / np.float32(255)
    size = face_size(target.landmarks)
    seen: list[tuple[int, ...]] = []

    def nothing(correction: np.ndarray) -> np.ndarray:
        seen.append(correction.shape)
        return np.zeros_like(correction)

    plain = match_seam(face, target.image, mask, size)
    assert np.abs(plain.astype(int) - face).max() > 5  # the pair has a seam to correct
    unchanged = match_seam(face, target.image, mask, size, average=nothing)
    assert np.abs(unchanged.astype(int) - face).max() <= 1  # the L*a*b* round trip's rounding
    assert seen == [face.shape]
    np.testing.assert_array_equal(match_seam(face, target.image, mask, size, average=lambda c: c), plain)
