"""Blending a foreground face into a background through a soft mask.

Both blenders take ``fg`` and ``bg`` uint8 ``(H, W, 3)`` and a float mask ``(H, W)`` in ``[0, 1]`` and
return a new uint8 image. They work only on the bounding box of the mask's support, and every pixel
where the mask is 0 comes back bit-identical to ``bg``.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

# Poisson cloning covers every pixel the soft mask touches noticeably; the soft mask then feathers it.
_CLONE_THRESHOLD = 0.05


class Blender(Protocol):
    """A named blender the CLI can pick with ``--blend NAME``."""

    def __call__(self, fg: np.ndarray, bg: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


def _check(fg: np.ndarray, bg: np.ndarray, mask: np.ndarray) -> None:
    if fg.shape != bg.shape or fg.shape[:2] != mask.shape[:2] or mask.ndim != 2:
        raise ValueError(f"fg {fg.shape}, bg {bg.shape} and mask {mask.shape} do not describe one image")


def _support(mask: np.ndarray, threshold: float = 0.0) -> tuple[int, int, int, int]:
    """Bounding rect ``(x, y, w, h)`` of ``mask > threshold``; w or h is 0 when it is empty."""
    return cv2.boundingRect((mask > threshold).astype(np.uint8))


def alpha_blend(fg: np.ndarray, bg: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``bg + mask * (fg - bg)`` in float32, rounded back to uint8."""
    _check(fg, bg, mask)
    out = bg.copy()
    x, y, w, h = _support(mask)
    if w == 0 or h == 0:
        return out
    box = np.s_[y : y + h, x : x + w]
    alpha = mask[box].astype(np.float32)[..., None]
    back = bg[box].astype(np.float32)
    blended = back + alpha * (fg[box].astype(np.float32) - back)
    out[box] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return out


def poisson_blend(fg: np.ndarray, bg: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Gradient-domain clone of ``fg`` into ``bg`` (OpenCV NORMAL_CLONE), feathered by the soft mask.

    ``cv2.seamlessClone`` clears the mask's outer one-pixel border, takes the bounding rect of what is
    left and pastes it so that the rect's top-left lands at ``(p.x - w // 2, p.y - h // 2)``. To keep
    ``fg`` where it is, ``p`` must be that rect's ``(x + w // 2, y + h // 2)``, with integer halving;
    the image centre or a float centre shifts the face by a pixel or more.
    """
    _check(fg, bg, mask)
    binary = (mask > _CLONE_THRESHOLD).astype(np.uint8) * 255
    binary[0, :] = binary[-1, :] = binary[:, 0] = binary[:, -1] = 0
    x, y, w, h = _support(binary)
    if w < 3 or h < 3:
        return alpha_blend(fg, bg, mask)
    # Solve on the support plus a border of real surroundings, not on the whole image.
    x0, y0 = max(x - 2, 0), max(y - 2, 0)
    x1, y1 = min(x + w + 2, bg.shape[1]), min(y + h + 2, bg.shape[0])
    window = np.s_[y0:y1, x0:x1]
    centre = (x - x0 + w // 2, y - y0 + h // 2)
    cloned_window = cv2.seamlessClone(
        np.ascontiguousarray(fg[window]),
        np.ascontiguousarray(bg[window]),
        np.ascontiguousarray(binary[window]),
        centre,
        cv2.NORMAL_CLONE,
    )
    cloned = bg.copy()
    cloned[window] = cloned_window
    return alpha_blend(cloned, bg, mask)


BLENDERS: dict[str, Blender] = {"alpha": alpha_blend, "poisson": poisson_blend}
