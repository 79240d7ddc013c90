"""The compose stage: mask, colour transfer, blend and paste one swapped face back into its frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceforge.compose.blend import BLENDERS
from faceforge.compose.color import COLOR_TRANSFERS
from faceforge.compose.masks import DEFAULT_ERODE, DEFAULT_FEATHER, MASKS, combine_masks, skin_mask
from faceforge.compose.paste import paste_back
from faceforge.types import AlignedFace


def _check_name(kind: str, name: str, registry: dict[str, object]) -> None:
    if name not in registry:
        valid = ", ".join(sorted(registry))
        raise ValueError(f"unknown {kind} {name!r}; valid names: {valid}")


@dataclass(frozen=True, slots=True)
class ComposeOptions:
    """How a swapped face is put back. Names refer to ``MASKS``, ``COLOR_TRANSFERS`` and ``BLENDERS``.

    ``mask_erode`` and ``mask_feather`` scale the mask's default erosion and feather (both already
    proportional to the face size): 0 turns one off, 2 doubles it, a negative ``mask_erode`` grows
    the mask instead.
    """

    mask: str = "landmarks"
    color: str = "reinhard"
    blend: str = "alpha"
    keep_mouth: bool = True  # the target's teeth and tongue, which follow its speech
    keep_eyes: bool = False
    mask_erode: float = 1.0
    mask_feather: float = 1.0

    def __post_init__(self) -> None:
        _check_name("mask", self.mask, MASKS)
        _check_name("colour transfer", self.color, COLOR_TRANSFERS)
        _check_name("blend", self.blend, BLENDERS)
        if self.mask_feather < 0:
            raise ValueError(f"mask_feather must be >= 0, got {self.mask_feather}")


def compose(
    frame: np.ndarray,
    target: AlignedFace,
    swapped_crop: np.ndarray,
    options: ComposeOptions | None = None,
    swapper_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Put ``swapped_crop`` (aligned like ``target``) back into ``frame``; returns a new frame.

    The mask is built in crop space from the target's landmarks (and narrowed by the swapper's own mask
    when it has one); the swapped crop is colour-matched to the target crop inside that mask. Blending
    then happens in the frame's region of interest, not in the crop: the background there is never
    resampled, and Poisson cloning sees the real surroundings of the face.
    """
    options = options or ComposeOptions()
    size = target.image.shape[:2]
    if swapped_crop.shape != target.image.shape:
        raise ValueError(
            f"swapped crop {swapped_crop.shape} differs from the target crop {target.image.shape}"
        )
    mask = MASKS[options.mask](
        target.landmarks,
        size,
        erode=DEFAULT_ERODE * options.mask_erode,
        feather=DEFAULT_FEATHER * options.mask_feather,
        exclude_mouth=options.keep_mouth,
        exclude_eyes=options.keep_eyes,
    )
    if swapper_mask is not None:
        if swapper_mask.shape[:2] != size:
            raise ValueError(f"swapper mask {swapper_mask.shape} does not match the crop size {size}")
        mask = combine_masks(mask, swapper_mask)
    # Skin tone statistics from bare skin only: eye whites, brows and lips would skew them (a dark face's
    # eye whites turned grey when a light target's skin was matched over the whole mask).
    skin = skin_mask(target.landmarks, size)
    colored = COLOR_TRANSFERS[options.color](swapped_crop, target.image, mask, skin)
    return paste_back(frame, colored, mask, target.matrix, blend=BLENDERS[options.blend])
