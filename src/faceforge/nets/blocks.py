"""Building blocks of the swap autoencoders, in the style of faceswap's ``nn_blocks``.

Every convolution is followed by LeakyReLU(0.1), as in faceswap and DeepFaceLab. Upscaling is sub-pixel
(a convolution to 4x the channels, then ``PixelShuffle(2)``): :class:`Upscale` marks those convolutions
so the ICNR initialiser can find them.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

SLOPE = 0.1  # LeakyReLU negative slope


class Conv(nn.Sequential):
    """5x5 convolution (stride 2 by default: halves the size) and LeakyReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 5, stride: int = 2) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2),
            nn.LeakyReLU(SLOPE, inplace=True),
        )


class Upscale(nn.Module):
    """3x3 convolution to ``4 * cout`` channels, LeakyReLU, pixel shuffle: doubles the size."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 4, 3, padding=1)
        self.act = nn.LeakyReLU(SLOPE, inplace=True)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: Tensor) -> Tensor:
        return self.shuffle(self.act(self.conv(x)))


class Residual(nn.Module):
    """Two 3x3 convolutions with a skip connection (Dfaker's decoder block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(SLOPE)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


class Dense(nn.Module):
    """Flatten, a linear bottleneck of ``dense`` units, a linear expansion back to a ``(channels, size,
    size)`` map: the fully connected middle of faceswap's "original" encoder."""

    def __init__(self, flat: int, dense: int, channels: int, size: int) -> None:
        super().__init__()
        self.shape = (channels, size, size)
        self.down = nn.Linear(flat, dense)
        self.up = nn.Linear(dense, channels * size * size)

    def forward(self, x: Tensor) -> Tensor:
        x = self.up(self.down(torch.flatten(x, 1)))
        return x.view(x.shape[0], *self.shape)


class Head(nn.Sequential):
    """5x5 convolution to ``cout`` channels and a sigmoid: an image or mask in [0, 1]."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 5, padding=2), nn.Sigmoid())
