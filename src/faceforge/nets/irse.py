"""The IR-SE ResNet body (improved residual units with squeeze-excitation) that the e4e and pSp encoders
use, in their state-dict layout: ``input_layer.{0,1,2}`` and ``body.N.{shortcut_layer,res_layer}.*``.

A unit is ``BN → conv3×3 → PReLU → conv3×3 (stride) → BN → SE`` plus a shortcut (a 1×1 strided conv and BN
when the width changes, else a strided identity). IR-SE-50 has stages of 3, 4, 14 and 3 units, 64, 128,
256 and 512 wide, the first unit of each stage with stride 2.
"""

from __future__ import annotations

from torch import Tensor, nn

IR_SE_50_UNITS = (3, 4, 14, 3)
IR_SE_WIDTHS = (64, 128, 256, 512)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        scale = x.mean(dim=(2, 3), keepdim=True)
        return x * self.fc2(self.fc1(scale).relu()).sigmoid()


class IRSEUnit(nn.Module):
    def __init__(self, in_ch: int, depth: int, stride: int) -> None:
        super().__init__()
        if in_ch == depth:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_ch, depth, 1, stride, bias=False), nn.BatchNorm2d(depth)
            )
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(in_ch),
            nn.Conv2d(in_ch, depth, 3, 1, 1, bias=False),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, 3, stride, 1, bias=False),
            nn.BatchNorm2d(depth),
            SqueezeExcite(depth),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


def ir_se_body(
    units: tuple[int, ...] = IR_SE_50_UNITS, widths: tuple[int, ...] = IR_SE_WIDTHS
) -> nn.Sequential:
    """The units of all stages as one Sequential (``body.0`` … ``body.23`` for IR-SE-50)."""
    layers: list[nn.Module] = []
    in_ch = widths[0]
    for count, depth in zip(units, widths, strict=True):
        layers.append(IRSEUnit(in_ch, depth, 2))
        layers += [IRSEUnit(depth, depth, 1) for _ in range(count - 1)]
        in_ch = depth
    return nn.Sequential(*layers)


def ir_se_stem(width: int = IR_SE_WIDTHS[0]) -> nn.Sequential:
    """``input_layer``: conv3×3 (no bias), BN, PReLU at full resolution."""
    return nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.PReLU(width))
