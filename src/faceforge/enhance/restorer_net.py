"""faceforge's own face restoration network: small and fast, trained by ``faceforge train-restorer``.

A residual encoder-decoder on RGB in [0, 1]: full-resolution features, a half-resolution body of residual
blocks (where most of the work happens, at a quarter of the cost), pixel-shuffle back up, and a tail
that adds its correction to the input, so an untrained network starts as the identity. Fully
convolutional: any even crop side works.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from faceforge.enhance.restorer_shape import RestorerShape

__all__ = ["RestorerNet", "RestorerShape"]


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class RestorerNet(nn.Module):
    """``forward(x [B, 3, S, S] in [0, 1]) -> restored [B, 3, S, S]`` (not clamped; S even)."""

    def __init__(self, shape: RestorerShape | None = None) -> None:
        super().__init__()
        self.shape = shape or RestorerShape()
        w = self.shape.width
        self.head = nn.Sequential(nn.Conv2d(3, w, 3, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.down = nn.Sequential(
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)
        )
        self.body = nn.Sequential(*(_Residual(2 * w) for _ in range(self.shape.blocks)))
        self.up = nn.Sequential(
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.PixelShuffle(2), nn.LeakyReLU(0.2, inplace=True)
        )
        narrow = nn.Conv2d(2 * w, w, 3, padding=1)  # built before to_rgb: the seeded initialisation's order
        to_rgb = nn.Conv2d(w, 3, 3, padding=1)
        for parameter in to_rgb.parameters():
            nn.init.zeros_(parameter)
        self.tail = nn.Sequential(narrow, nn.LeakyReLU(0.2, inplace=True), to_rgb)

    def forward(self, x: Tensor) -> Tensor:
        features = self.head(x)
        coarse = self.up(self.body(self.down(features)))
        return x + self.tail(torch.cat([features, coarse], dim=1))
