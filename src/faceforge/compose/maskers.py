"""The masker contract: mask sources that see the face's pixels and may keep per-session state.

A compositor builds its composite mask from several sources, each a :class:`Masker` made once per
session by a registered factory:

- one **face** masker (``ComposeOptions.mask``, registry :data:`MASKS`) says where the face is:
  ``1`` = replace with the swapped face;
- any number of **occlusion** maskers (``ComposeOptions.occlusion``, registry :data:`OCCLUSION_MASKS`)
  say what lies in front of it (a hand, a microphone): ``1`` = occluded, keep the target's pixels.

The composite is ``face * (1 - max(occlusions))``. Every masker gets a :class:`MaskContext` (the aligned
target crop, its landmarks, the frame, the crop's matrix and the track id) and returns a ``float32``
``(S, S)`` array in ``[0, 1]`` in crop space. A masker may hold a model loaded once and per-track state
keyed by ``context.track_id`` (``None`` for images); ``reset()`` forgets the per-track state (a new
video, a scene cut) and ``close()`` releases models. Maskers are not thread-safe: one per session.

Add one with :func:`register_masker`; it is then a valid ``--mask`` or ``--occlusion`` name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from faceforge.compose.masks import DEFAULT_ERODE, DEFAULT_FEATHER, LandmarkMaskFn, box_mask, face_mask
from faceforge.compose.occluders import HandMasker, SkinOutlierMasker

if TYPE_CHECKING:
    from faceforge.compose.compositor import ComposeOptions


@dataclass(frozen=True, slots=True)
class MaskContext:
    """What a masker may look at for one face in one frame."""

    crop: np.ndarray  # (S, S, 3) uint8, the aligned target face
    landmarks: np.ndarray  # (478, 3) in crop pixels
    frame: np.ndarray  # (H, W, 3) uint8, the whole frame the crop came from
    matrix: np.ndarray  # (2, 3) affine, frame pixels -> crop pixels
    track_id: int | None = None  # the face's track in a video; None for a single image

    @property
    def size(self) -> tuple[int, int]:
        """The crop's ``(height, width)``."""
        return int(self.crop.shape[0]), int(self.crop.shape[1])


class Masker(Protocol):
    """A mask source for one session: ``masker(context) -> (S, S) float32`` in ``[0, 1]``."""

    def __call__(self, context: MaskContext) -> np.ndarray: ...

    def reset(self) -> None:
        """Forget per-track state (a new video or a scene cut)."""

    def close(self) -> None:
        """Release models and memory; the masker is not used afterwards."""


MaskerFactory = Callable[["ComposeOptions"], Masker]


class LandmarkMasker:
    """A face masker drawn from the target's landmarks alone (the face oval or its ellipse).

    Stateless; erosion, feather and the mouth and eye cut-outs come from the compose options.
    """

    def __init__(self, draw: LandmarkMaskFn, options: ComposeOptions) -> None:
        self._draw = draw
        self._erode = DEFAULT_ERODE * options.mask_erode
        self._feather = DEFAULT_FEATHER * options.mask_feather
        self._exclude_mouth = options.keep_mouth
        self._exclude_eyes = options.keep_eyes

    def __call__(self, context: MaskContext) -> np.ndarray:
        return self._draw(
            context.landmarks,
            context.size,
            erode=self._erode,
            feather=self._feather,
            exclude_mouth=self._exclude_mouth,
            exclude_eyes=self._exclude_eyes,
        )

    def reset(self) -> None:
        """Nothing to forget."""

    def close(self) -> None:
        """Nothing to release."""


MASKS: dict[str, MaskerFactory] = {
    "landmarks": lambda options: LandmarkMasker(face_mask, options),
    "box": lambda options: LandmarkMasker(box_mask, options),
}
OCCLUSION_MASKS: dict[str, MaskerFactory] = {
    "hands": lambda options: HandMasker(),
    "occluder": lambda options: SkinOutlierMasker(),
}


def register_masker(name: str, factory: MaskerFactory, *, occlusion: bool = False) -> None:
    """Make ``factory(options) -> Masker`` available as a face masker (``--mask name``) or, with
    ``occlusion=True``, as an occlusion masker (``--occlusion name``). A name already taken is an error,
    so a plug-in cannot silently replace a built-in."""
    registry = OCCLUSION_MASKS if occlusion else MASKS
    if not name or name in MASKS or name in OCCLUSION_MASKS:
        raise ValueError(f"masker name {name!r} is empty or already registered")
    registry[name] = factory
