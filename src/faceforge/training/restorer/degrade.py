"""The degradation recipe the restorer learns to undo (GHOST's face-renovation training, HiFaceGAN-style):
a slight deformation, blur, down-scaling, noise and JPEG compression, each drawn at random.

Applied in that order, as a camera and a swap would: the face is warped a little (swap landmarks are never
exact), blurred, shrunk (a small face in the frame, a 128-px swapper), noised and compressed at the small
size, then brought back to the crop's side with bicubic interpolation, which is the restorer's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class DegradeRecipe:
    deform: float = 0.01  # largest shift of the affine jitter, as a share of the side (rotation alike)
    blur_sigma: tuple[float, float] = (0.0, 2.0)  # Gaussian blur sigma range, in crop pixels
    downscale: tuple[float, float] = (1.0, 4.0)  # factor range of the shrink
    noise_sigma: tuple[float, float] = (0.0, 8.0)  # Gaussian noise range, in 0-255 levels
    jpeg_quality: tuple[int, int] = (35, 95)
    probability: float = 0.75  # each of blur, noise and JPEG is applied with this probability

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def deform(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A small random similarity warp (shift, rotation, scale all within ``amount`` of the side)."""
    side = image.shape[0]
    angle = float(rng.uniform(-amount, amount)) * 180.0 / np.pi
    scale = 1.0 + float(rng.uniform(-amount, amount))
    matrix = cv2.getRotationMatrix2D((side / 2.0, side / 2.0), angle, scale)
    matrix[:, 2] += rng.uniform(-amount, amount, 2) * side
    return cv2.warpAffine(
        image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
    )


def shrink_and_restore_size(image: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` shrunk by ``factor`` (area averaging) and that small image brought back to the side with
    bicubic interpolation: (small, bicubic)."""
    side = image.shape[0]
    small_side = max(4, round(side / factor))
    small = cv2.resize(image, (small_side, small_side), interpolation=cv2.INTER_AREA)
    return small, cv2.resize(small, (side, side), interpolation=cv2.INTER_CUBIC)


def degrade(image: np.ndarray, rng: np.random.Generator, recipe: DegradeRecipe) -> np.ndarray:
    """One random degradation of the uint8 RGB ``image`` (same shape)."""
    out = deform(image, rng, recipe.deform) if recipe.deform > 0 else image
    if rng.random() < recipe.probability:
        sigma = float(rng.uniform(*recipe.blur_sigma))
        if sigma > 0.1:
            out = cv2.GaussianBlur(out, (0, 0), sigma)
    side = out.shape[0]
    small_side = max(4, round(side / float(rng.uniform(*recipe.downscale))))
    small = cv2.resize(out, (small_side, small_side), interpolation=cv2.INTER_AREA)
    if rng.random() < recipe.probability:
        sigma = float(rng.uniform(*recipe.noise_sigma))
        small = np.clip(small.astype(np.float32) + rng.normal(0.0, sigma, small.shape), 0, 255).astype(
            np.uint8
        )
    if rng.random() < recipe.probability:
        quality = int(rng.integers(recipe.jpeg_quality[0], recipe.jpeg_quality[1] + 1))
        ok, data = cv2.imencode(".jpg", small[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            small = decoded[..., ::-1]
    return cv2.resize(small, (side, side), interpolation=cv2.INTER_CUBIC)
