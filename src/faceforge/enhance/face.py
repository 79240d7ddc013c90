"""Face enhancers as face processors: a restoration model run on the swapped crop at the model's own
alignment, warped back into the swapper's crop and blended in.

A restoration model (:class:`FaceModel`) expects faces laid out by its own template at its own size
(FFHQ's 512-px alignment for GFPGAN, CodeFormer, GPEN-BFR 512 and RestoreFormer++; the 128-px ArcFace
layout at 256 px for GPEN-BFR 256; faceforge's full-face layout for its own restorer). The swapped crop
knows its landmarks, so the model's crop is one similarity warp away from it, whatever template the
swapper used. The restored face is warped back and mixed into the swapped crop over the model's crop
area (feathered at its edge) with the step's blend; the compositor then pastes the crop with the same
mask as an un-enhanced swap. The identity guard (:mod:`faceforge.enhance.guard`) may lower the blend
per face.

Because the result goes back into the swapper's crop, the detail kept is bounded by that crop's size:
a 512-px enhancer on a 128-px inswapper crop restores what fits in 128 px (use the swapper's pixel boost
for more).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from faceforge.enhance.guard import IdentityGuard
from faceforge.geometry.alignment import Template, anchor_points, similarity_transform
from faceforge.types import AlignedFace

FEATHER = 0.04  # the model crop's edge fades over this share of its side


class FaceModel(Protocol):
    """A face restoration network on aligned crops."""

    template: Template
    size: int

    def restore(self, crops: np.ndarray) -> np.ndarray:
        """``(B, size, size, 3)`` uint8 RGB faces laid out by ``template`` -> restored, same shape."""
        ...

    def close(self) -> None: ...


def model_matrix(aligned: AlignedFace, model: FaceModel) -> np.ndarray:
    """The similarity taking swapper-crop pixels to the model's crop pixels."""
    return similarity_transform(anchor_points(aligned.landmarks), model.template.scaled(model.size))


def coverage(matrix: np.ndarray, model_size: int, crop_size: int) -> np.ndarray:
    """Where the model's crop lies inside the swapper's crop, ``(S, S)`` float32 in [0, 1], its edge
    feathered so that no seam shows where the restored area ends."""
    margin = max(1, round(FEATHER * model_size))
    square: np.ndarray = np.zeros((model_size, model_size), np.float32)
    square[margin:-margin, margin:-margin] = 1.0
    square = cv2.GaussianBlur(square, (2 * margin + 1, 2 * margin + 1), 0)
    return cv2.warpAffine(
        square,
        matrix,
        (crop_size, crop_size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )


def into_model(crop: np.ndarray, matrix: np.ndarray, model_size: int) -> np.ndarray:
    """The swapped crop laid out in the model's crop. A model crop smaller than the face in the swapper's
    crop is reached by area averaging first (a plain warp would alias it)."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))  # model pixels per crop pixel
    if scale < 0.8:
        side = max(1, round(crop.shape[0] * scale))
        factor = side / crop.shape[0]
        crop = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        matrix = matrix.copy()
        matrix[:, :2] /= factor
    return cv2.warpAffine(
        crop, matrix, (model_size, model_size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def back_into_crop(restored: np.ndarray, matrix: np.ndarray, crop_size: int) -> np.ndarray:
    """The model's output warped back into the swapper's ``crop_size`` crop. A model crop larger than
    the area it covers there is first shrunk with area averaging (a plain warp would alias it)."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))  # model pixels per crop pixel
    if scale > 1.25:
        side = max(1, round(restored.shape[0] / scale))
        factor = side / restored.shape[0]
        restored = cv2.resize(restored, (side, side), interpolation=cv2.INTER_AREA)
        matrix = matrix * factor
    return cv2.warpAffine(
        restored,
        matrix,
        (crop_size, crop_size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def mix(base: np.ndarray, other: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``base`` moved toward ``other`` by ``weight`` (per pixel, ``(H, W)`` in [0, 1]), as uint8."""
    w = weight[..., None]
    out = base.astype(np.float32) * (1.0 - w) + other.astype(np.float32) * w
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


class FaceEnhancer:
    """A face processor running ``model`` on every swapped crop of a batch (one model call per batch)."""

    def __init__(self, name: str, model: FaceModel, blend: float, guard: IdentityGuard | None = None) -> None:
        self.name = name
        self.model = model
        self.blend = blend
        self.guard = guard

    def process(self, faces: Sequence[AlignedFace], crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not crops:
            return []
        size = self.model.size
        matrices = [model_matrix(face, self.model) for face in faces]
        inputs = np.stack([into_model(crop, m, size) for crop, m in zip(crops, matrices, strict=True)])
        restored = self.model.restore(inputs)
        backs = [
            back_into_crop(face, m, crop.shape[0])
            for crop, m, face in zip(crops, matrices, restored, strict=True)
        ]
        areas = [coverage(m, size, crop.shape[0]) for crop, m in zip(crops, matrices, strict=True)]

        def blended(i: int, blend: float) -> np.ndarray:
            return mix(crops[i], backs[i], areas[i] * blend)

        blends = [self.blend] * len(crops)
        if self.guard is not None and self.blend > 0:
            blends = self.guard.choose(faces, crops, blended, blends)
        return [blended(i, blend) if blend > 0 else np.array(crops[i]) for i, blend in enumerate(blends)]

    def close(self) -> None:
        self.model.close()
