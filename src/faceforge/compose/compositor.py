"""The compose stage: mask, colour transfer, blend and paste one swapped face back into its frame."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace

import cv2
import numpy as np

from faceforge.compose.blend import BLENDERS
from faceforge.compose.color import COLOR_TRANSFERS, TrackShading
from faceforge.compose.maskers import MASKS, OCCLUSION_MASKS, MaskContext
from faceforge.compose.masks import combine_masks, face_size, skin_mask
from faceforge.compose.paste import paste_back, roi_of, warp_to_roi
from faceforge.compose.seam import match_seam
from faceforge.compose.texture import match_texture
from faceforge.compose.track_state import TrackAverage
from faceforge.options import option
from faceforge.types import AlignedFace

# Weight of the new frame in a track's running average of the seam correction. 0.1: on the four clips of
# docs/quality.md the flicker ratio's mean fell 1.088 -> 1.061 from 0.25 (with the shading's gap at 0.1).
SEAM_SMOOTHING = 0.1


def _check_name(kind: str, name: str, registry: Mapping[str, object]) -> None:
    if name not in registry:
        valid = ", ".join(sorted(registry))
        raise ValueError(f"unknown {kind} {name!r}; valid names: {valid}")


@dataclass(frozen=True, slots=True)
class ComposeOptions:
    """How a swapped face is put back. Names refer to ``MASKS``, ``COLOR_TRANSFERS`` and ``BLENDERS``.

    ``mask_erode`` and ``mask_feather`` scale the mask's default erosion and feather (both already
    proportional to the face size): 0 turns one off, 2 doubles it, a negative ``mask_erode`` grows
    the mask instead. Where the swapper gives its own mask, the face mask only bounds it and is not
    eroded.
    """

    mask: str = option("landmarks", help="Face mask.", choices=MASKS.keys)
    color: str = option(
        "shading",
        help="Colour transfer toward the target's skin; 'shading' also gives the face the target's light.",
        choices=COLOR_TRANSFERS.keys,
    )
    contrast: float = option(
        0.5,
        help="How far 'shading' moves the face's lightness contrast to the target's: 1 all the way, "
        "0 keeps the source's own (its lightness and colour always move all the way).",
        min=0.0,
        max=1.0,
    )
    blend: str = option("alpha", help="Feathered alpha or Poisson seamless clone.", choices=BLENDERS.keys)
    keep_mouth: bool = option(
        True, help="Keep the target's mouth interior (teeth and tongue follow its speech)."
    )
    keep_eyes: bool = option(False, help="Keep the target's eyes, so gaze follows the target.")
    mask_erode: float = option(
        1.0, help="Scale of the mask's erosion: 0 turns it off, 2 doubles it, below 0 grows the mask."
    )
    mask_feather: float = option(
        1.0, help="Scale of the mask's feather: 0 turns it off, 2 doubles it.", min=0.0
    )
    occlusion: tuple[str, ...] = option(
        ("occluder",),
        help="Occlusion maskers whose regions keep the target's pixels: 'hands' (MediaPipe Hands), "
        "'occluder' (objects in front of the face that are not the target's skin).",
        choices=OCCLUSION_MASKS.keys,
    )
    seam: bool = option(
        True,
        help="Match the face to the target along the mask's edge, fading inward over a band of the face "
        "size (no step at the forehead, jaw or cheeks).",
    )
    texture: bool = option(
        True, help="Match the swapped face's sharpness and grain to the target's (blur or add grain)."
    )

    def __post_init__(self) -> None:
        _check_name("mask", self.mask, MASKS)
        for name in self.occlusion:
            _check_name("occlusion mask", name, OCCLUSION_MASKS)
        _check_name("colour transfer", self.color, COLOR_TRANSFERS)
        _check_name("blend", self.blend, BLENDERS)
        if self.mask_feather < 0:
            raise ValueError(f"mask_feather must be >= 0, got {self.mask_feather}")


class Compositor:
    """Puts swapped faces back into frames for one session, with maskers made once and kept.

    Per-track masker and shading state is keyed by ``aligned.face.track_id``; call ``reset()`` at a new
    video or a scene cut and ``close()`` when done. Not thread-safe: one compositor per session.
    """

    def __init__(self, options: ComposeOptions | None = None) -> None:
        self.options = options or ComposeOptions()
        self._face = MASKS[self.options.mask](self.options)
        # A swapper's own mask says where it drew the face, which a reshaped face may draw beyond the
        # target's outline (a wider jaw): the face masker then only bounds it, not eroded (a negative
        # mask_erode still grows it). Grown by the erosion's size instead, the talking clip's flicker
        # rose to 1.104 of the target's (1.088 not eroded, 1.070 eroded).
        unshrunk = replace(self.options, mask_erode=min(self.options.mask_erode, 0.0))
        self._bound = MASKS[self.options.mask](unshrunk)
        self._occlusion = [OCCLUSION_MASKS[name](self.options) for name in self.options.occlusion]
        self._shading = TrackShading(strength=self.options.contrast)
        self._seams = TrackAverage(SEAM_SMOOTHING)

    def face_mask(
        self, frame: np.ndarray, aligned: AlignedFace, swapper_mask: np.ndarray | None = None
    ) -> np.ndarray:
        """The composite ``(S, S)`` float32 mask in crop space: the face masker's mask, or, when the
        swapper gives its own, that mask bounded by the face masker's region, not eroded; with
        every occlusion masker's region cut out."""
        return self._masks(frame, aligned, swapper_mask, None)[0]

    def _masks(
        self,
        frame: np.ndarray,
        aligned: AlignedFace,
        swapper_mask: np.ndarray | None,
        surroundings: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`face_mask`, and the swapper's moved surroundings with the same occluders cut out."""
        size = aligned.image.shape[:2]
        for name, given in (("mask", swapper_mask), ("surroundings", surroundings)):
            if given is not None and given.shape[:2] != size:
                raise ValueError(f"swapper {name} {given.shape} does not match the crop size {size}")
        context = MaskContext(aligned.image, aligned.landmarks, frame, aligned.matrix, aligned.face.track_id)
        if swapper_mask is None:
            mask = self._face(context)
        else:
            mask = combine_masks(self._bound(context), swapper_mask)
        if self._occlusion:
            visible = 1.0 - np.maximum.reduce([masker(context) for masker in self._occlusion])
            mask = mask * visible
            surroundings = None if surroundings is None else surroundings * visible
        return mask.astype(np.float32, copy=False), surroundings

    def compose(
        self,
        frame: np.ndarray,
        aligned: AlignedFace,
        swapped_crop: np.ndarray,
        swapper_mask: np.ndarray | None = None,
        surroundings: np.ndarray | None = None,
    ) -> np.ndarray:
        """Put ``swapped_crop`` (aligned like ``aligned``) back into ``frame``; returns a new frame.

        The swapped crop is colour-matched to the target crop inside the mask; ``surroundings`` (the
        swapper's ``SwapResult.surroundings``) are pasted as the swapper drew them, beyond the mask too.
        Blending happens in the frame's region of interest, not in the crop: the background there is
        never resampled, and Poisson cloning sees the real surroundings of the face.
        """
        if swapped_crop.shape != aligned.image.shape:
            raise ValueError(
                f"swapped crop {swapped_crop.shape} differs from the target crop {aligned.image.shape}"
            )
        mask, surroundings = self._masks(frame, aligned, swapper_mask, surroundings)
        # Skin tone statistics from bare skin only: eye whites, brows and lips would skew them (a dark
        # face's eye whites turned grey when a light target's skin was matched over the whole mask).
        skin = skin_mask(aligned.landmarks, aligned.image.shape[:2])
        if self.options.color == "shading":
            colored = self._shading(swapped_crop, aligned.image, mask, skin, aligned.face.track_id)
        else:
            colored = COLOR_TRANSFERS[self.options.color](swapped_crop, aligned.image, mask, skin)
        if self.options.seam:
            track_id = aligned.face.track_id
            colored = match_seam(
                colored,
                aligned.image,
                mask,
                face_size(aligned.landmarks),
                average=None if track_id is None else functools.partial(self._seams.update, track_id),
            )
        pasted = mask
        if surroundings is not None:
            colored, pasted = _with_surroundings(colored, swapped_crop, mask, surroundings)
        out = paste_back(frame, colored, pasted, aligned.matrix, blend=BLENDERS[self.options.blend])
        if self.options.texture:
            out = _textured(out, frame, aligned, mask, skin)
        return out

    def reset(self) -> None:
        """Forget every masker's and the shading's per-track state."""
        for masker in (self._face, self._bound, *self._occlusion):
            masker.reset()
        self._shading.reset()
        self._seams.reset()

    def close(self) -> None:
        """Release the maskers' models."""
        for masker in (self._face, self._bound, *self._occlusion):
            masker.close()


def _with_surroundings(
    colored: np.ndarray, drawn: np.ndarray, mask: np.ndarray, surroundings: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The crop to paste and its mask: the colour-matched face where ``mask`` says, the swapper's own
    ``drawn`` pixels (not colour-matched) where only ``surroundings`` does, mixed in proportion between."""
    pasted = np.maximum(mask, surroundings)
    face_share = np.divide(mask, pasted, out=np.ones_like(mask), where=pasted > 0)[..., None]
    crop = colored * face_share + drawn * (1.0 - face_share)
    return np.clip(crop + 0.5, 0, 255).astype(np.uint8), pasted


def _textured(
    out: np.ndarray, frame: np.ndarray, aligned: AlignedFace, mask: np.ndarray, skin: np.ndarray
) -> np.ndarray:
    """``out`` with the pasted face's sharpness and grain matched to the target's, in frame pixels.

    Frame space, not crop space: the crop is resampled on the way back, so a face that matched the target
    crop's sharpness can still be smoother than the frame around it.
    """
    x0, y0, x1, y1 = roi = roi_of(aligned.matrix, aligned.image.shape[:2], frame.shape)
    if x1 <= x0 or y1 <= y0:
        return out
    weight = np.clip(warp_to_roi(mask, aligned.matrix, roi, border=cv2.BORDER_CONSTANT), 0.0, 1.0)
    bx, by, bw, bh = cv2.boundingRect((weight > 0).astype(np.uint8))
    if bw == 0 or bh == 0:
        return out
    inner = np.s_[by : by + bh, bx : bx + bw]  # the mask's support: the only pixels that change
    bare = np.where(mask > 0.5, skin, 0).astype(np.uint8)
    region = (warp_to_roi(bare, aligned.matrix, roi, border=cv2.BORDER_CONSTANT) > 127).astype(np.uint8)
    window = np.s_[y0 + by : y0 + by + bh, x0 + bx : x0 + bx + bw]
    box = out[window]
    matched = match_texture(box, frame[window], region[inner])
    alpha = weight[inner]
    out[window] = cv2.blendLinear(matched, box, alpha, 1.0 - alpha)
    return out


def compose(
    frame: np.ndarray,
    target: AlignedFace,
    swapped_crop: np.ndarray,
    options: ComposeOptions | None = None,
    swapper_mask: np.ndarray | None = None,
    surroundings: np.ndarray | None = None,
) -> np.ndarray:
    """One-shot compose through a :class:`Compositor` made and closed for this call."""
    compositor = Compositor(options)
    try:
        return compositor.compose(frame, target, swapped_crop, swapper_mask, surroundings)
    finally:
        compositor.close()
