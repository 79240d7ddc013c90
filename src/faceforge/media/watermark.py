"""A visible "this is synthetic" label, for outputs that should say so to people as well as to machines."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEFAULT_TEXT = "SYNTHETIC · faceforge"
DEFAULT_OPACITY = 0.6


def add_watermark(rgb: np.ndarray, text: str = DEFAULT_TEXT, opacity: float = DEFAULT_OPACITY) -> np.ndarray:
    """Return a copy of ``rgb`` with ``text`` in white with a dark outline in the bottom-right corner.

    The text height is about 3.5 % of the shorter image side (at least 10 px), so the label reads the
    same on a thumbnail and on 4K. Pillow's bundled scalable font is used because OpenCV's Hershey fonts
    cannot draw non-ASCII characters such as the middle dot.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"add_watermark needs a uint8 HxWx3 array, got {rgb.dtype} {rgb.shape}.")
    height, width = rgb.shape[:2]
    size = max(10, round(min(height, width) * 0.035))
    font = ImageFont.load_default(size=size)
    stroke = max(1, size // 10)
    margin = max(2, size // 2)
    label = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(label)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
    position = (max(0, width - margin - (x1 - x0)) - x0, max(0, height - margin - (y1 - y0)) - y0)
    alpha = round(255 * min(1.0, max(0.0, opacity)))
    draw.text(
        position,
        text,
        font=font,
        fill=(255, 255, 255, alpha),
        stroke_width=stroke,
        stroke_fill=(0, 0, 0, alpha),
    )
    overlay = np.asarray(label, dtype=np.float32)
    weight = overlay[:, :, 3:4] / 255.0
    blended = rgb.astype(np.float32) * (1.0 - weight) + overlay[:, :, :3] * weight
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
