"""Compose: masks, colour transfer, blending and paste-back of swapped faces."""

from faceforge.compose.blend import BLENDERS, Blender, alpha_blend, poisson_blend
from faceforge.compose.color import COLOR_TRANSFERS, ColorTransfer, histogram, reinhard
from faceforge.compose.compositor import ComposeOptions, Compositor, compose
from faceforge.compose.maskers import MASKS, OCCLUSION_MASKS, MaskContext, Masker, register_masker
from faceforge.compose.masks import box_mask, combine_masks, face_mask, face_size, skin_mask
from faceforge.compose.paste import paste_back, roi_of

__all__ = [
    "BLENDERS",
    "COLOR_TRANSFERS",
    "MASKS",
    "OCCLUSION_MASKS",
    "Blender",
    "ColorTransfer",
    "ComposeOptions",
    "Compositor",
    "MaskContext",
    "Masker",
    "alpha_blend",
    "box_mask",
    "combine_masks",
    "compose",
    "face_mask",
    "face_size",
    "histogram",
    "paste_back",
    "poisson_blend",
    "register_masker",
    "reinhard",
    "roi_of",
    "skin_mask",
]
