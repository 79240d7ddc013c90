"""Tone, light and texture on real swaps: with ``color="shading"`` the pasted face takes the target's mean
lightness and its low-frequency shading (light direction), and with ``texture`` its sharpness, measured
over the target's bare skin."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from conftest import TESTDATA, load_rgb, mesh_landmarks

from faceforge.api import swap_image
from faceforge.compose import ComposeOptions
from faceforge.compose.masks import skin_mask
from faceforge.compose.texture import sharpness
from faceforge.config import SwapConfig

# (source, target): a flat-lit source into a low-key target, a frontal one into a talking face lit from
# one side, and a dark face into an evenly lit one.
PAIRS = [
    ("face_frontal_a.jpg", "face_lowkey_c.jpg"),
    ("face_frontal_a.jpg", "face_glasses_e.png"),
    ("face_darkskin_i.jpg", "face_frontal_b.jpg"),
]


def _lightness(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[..., 0]


def _tone_errors(output: np.ndarray, target: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """|mean L* difference| over the target's bare skin, and the RMS difference of the two faces'
    low-frequency shading there (blurred L*, sigma a quarter of the face size, means removed)."""
    skin = cv2.erode(skin_mask(landmarks, target.shape), np.ones((5, 5), np.uint8)) > 0
    out_l, target_l = _lightness(output), _lightness(target)
    sigma = 0.25 * np.sqrt(skin.sum())
    shading = (cv2.GaussianBlur(out_l, (0, 0), sigma) - cv2.GaussianBlur(target_l, (0, 0), sigma))[skin]
    mean_error = abs(float(out_l[skin].mean() - target_l[skin].mean()))
    return mean_error, float(np.sqrt(((shading - shading.mean()) ** 2).mean()))


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_shading_gives_the_face_the_targets_light(source: str, target: str) -> None:
    image = load_rgb(target)
    (landmarks,) = mesh_landmarks([image])
    errors = {}
    for color in ("reinhard", "shading"):
        config = replace(SwapConfig(), compose=ComposeOptions(color=color))
        errors[color] = _tone_errors(swap_image([TESTDATA / source], image, config=config), image, landmarks)
    mean_error, shading_error = errors["shading"]
    assert mean_error < 2.5  # L* units (0-100)
    assert shading_error < 3.5
    assert shading_error < 0.6 * errors["reinhard"][1]  # clearly better than matching statistics only


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("face_frontal_b.jpg", "face_frontal_a.jpg"),  # the swap comes out smoother: grain is added
        ("face_lookup_g.jpg", "face_darkskin_i.jpg"),  # the swap comes out sharper: it is blurred
    ],
)
def test_texture_matches_the_targets_sharpness(source: str, target: str) -> None:
    """Variance of the Laplacian over the target's bare skin, in frame pixels: the output's is within
    a factor 1.5 of the target's with ``texture`` on, and clearly further off without."""
    image = load_rgb(target)
    (landmarks,) = mesh_landmarks([image])
    skin = cv2.erode(skin_mask(landmarks, image.shape), np.ones((5, 5), np.uint8))
    ratios = []
    for texture in (False, True):
        config = replace(SwapConfig(), compose=ComposeOptions(color="shading", texture=texture))
        output = swap_image([TESTDATA / source], image, config=config)
        ratios.append(sharpness(output, skin) / sharpness(image, skin))
    off, matched = abs(np.log(ratios[0])), abs(np.log(ratios[1]))
    assert matched < np.log(1.5) and matched < off - 0.1
