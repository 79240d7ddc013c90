"""The visible watermark as a frame processor (the last one of the chain)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faceforge.media.watermark import DEFAULT_OPACITY, DEFAULT_TEXT, add_watermark
from faceforge.options import option


@dataclass(frozen=True, slots=True)
class WatermarkOptions:
    text: str = option(DEFAULT_TEXT, help="The visible label written in the bottom-right corner.")
    opacity: float = option(DEFAULT_OPACITY, help="How opaque the label is.", min=0.0, max=1.0)


class WatermarkProcessor:
    """Writes "SYNTHETIC · faceforge" (or ``options.text``) onto every frame; stateless, thread-safe."""

    name = "watermark"

    def __init__(self, options: WatermarkOptions | None = None) -> None:
        self.options = options or WatermarkOptions()

    def process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [add_watermark(frame, self.options.text, self.options.opacity) for frame in frames]

    def close(self) -> None:
        """Nothing to release."""
