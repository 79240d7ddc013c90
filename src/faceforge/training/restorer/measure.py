"""How well a restorer undoes two fixed degradations of held-out crops, in PSNR and SSIM against the clean
crop, beside the baselines it must beat:

- ``blur-noise-jpeg``: full-size crops blurred (sigma 1.2), noised (sigma 6) and JPEG-compressed
  (quality 40); the baseline is that degraded input itself;
- ``down-x3``: crops shrunk three times (area averaging) and JPEG-compressed (quality 75); the baselines
  are the small crop enlarged back with bicubic interpolation (the restorer's input) and with
  nearest-neighbour (the small crop as it is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceforge.enhance.face import FaceModel
from faceforge.evaluation.metrics import psnr, ssim_map
from faceforge.training.restorer.degrade import shrink_and_restore_size


@dataclass(frozen=True, slots=True)
class Scores:
    psnr: float  # dB, mean over crops
    ssim: float


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    _, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("OpenCV could not decode the JPEG it had just encoded.")
    return decoded[..., ::-1]


def blur_noise_jpeg(image: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blurred = cv2.GaussianBlur(image, (0, 0), 1.2).astype(np.float32)
    noisy = np.clip(blurred + rng.normal(0.0, 6.0, image.shape), 0, 255).astype(np.uint8)
    return _jpeg(noisy, 40)


def downscaled(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nearest, bicubic) enlargements of the crop shrunk three times and compressed."""
    small, _ = shrink_and_restore_size(image, 3.0)
    small = _jpeg(small, 75)
    side = (image.shape[1], image.shape[0])
    return (
        cv2.resize(small, side, interpolation=cv2.INTER_NEAREST),
        cv2.resize(small, side, interpolation=cv2.INTER_CUBIC),
    )


def _scores(clean: Sequence[np.ndarray], images: Sequence[np.ndarray]) -> Scores:
    return Scores(
        float(np.mean([psnr(a, b) for a, b in zip(clean, images, strict=True)])),
        float(np.mean([ssim_map(a, b).mean() for a, b in zip(clean, images, strict=True)])),
    )


def held_out_scores(model: FaceModel, crops: Sequence[np.ndarray]) -> dict[str, dict[str, Scores]]:
    """The scores of each case (see the module docstring) for the clean ``crops`` at the model's side,
    laid out as the model was trained (its faceset's crops)."""
    noisy = [blur_noise_jpeg(crop, i) for i, crop in enumerate(crops)]
    nearest, bicubic = zip(*(downscaled(crop) for crop in crops), strict=True)
    return {
        "blur-noise-jpeg": {
            "degraded": _scores(crops, noisy),
            "restored": _scores(crops, list(model.restore(np.stack(noisy)))),
        },
        "down-x3": {
            "nearest": _scores(crops, nearest),
            "bicubic": _scores(crops, bicubic),
            "restored": _scores(crops, list(model.restore(np.stack(bicubic)))),
        },
    }
