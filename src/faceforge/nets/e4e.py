"""The e4e encoder (Encoder4Editing, "Designing an Encoder for StyleGAN Image Manipulation") in the layout of
the public ``e4e_ffhq_encode.pt``: its ``encoder.*`` tensors load into :class:`E4EEncoder` with
``strict=True`` once the prefix is removed.

An IR-SE-50 body taps three feature maps (after the second, third and fourth stage: 64, 32 and 16 px for
a 256 px input). Row 0 of W+ is one style block on the coarsest map, copied to every row; each later row
adds a delta from its own block, on the coarsest map (rows 1-2), on a feature pyramid level that adds
the 32 px map (rows 3-6), or one that also adds the 64 px map (rows 7-17). The result is an offset: the
generator's average latent must be added (:meth:`E4EEncoder.forward` does when given it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faceforge.nets.irse import IR_SE_50_UNITS, IR_SE_WIDTHS, ir_se_body, ir_se_stem
from faceforge.nets.stylegan2 import EqualLinear


@dataclass(frozen=True, slots=True)
class E4EConfig:
    """``coarse_rows`` and ``middle_rows``: the first rows fed by the 32 px and the 64 px pyramid levels."""

    input_size: int = 256
    n_styles: int = 18
    style_dim: int = 512
    units: tuple[int, ...] = IR_SE_50_UNITS
    widths: tuple[int, ...] = IR_SE_WIDTHS
    coarse_rows: int = 3
    middle_rows: int = 7

    def __post_init__(self) -> None:
        if len(self.units) != 4 or len(self.widths) != 4:
            raise ValueError("An e4e body has four stages.")
        if self.widths[3] != self.style_dim:
            raise ValueError(
                "The e4e feature pyramid adds the last stage to style_dim-wide maps: they must match."
            )
        if self.input_size < 32 or self.input_size % 16:
            raise ValueError(
                f"The e4e input size must be a multiple of 16 of at least 32, not {self.input_size}."
            )

    @property
    def tap_units(self) -> tuple[int, int, int]:
        """Body indices after which the 64, 32 and 16 px (for 256 px input) maps are taken."""
        ends = [sum(self.units[: i + 1]) - 1 for i in range(4)]
        return ends[1], ends[2], ends[3]


FFHQ_E4E = E4EConfig()


class GradualStyleBlock(nn.Module):
    """log2(spatial) stride-2 convs with leaky ReLU down to 1×1, then an equalised linear."""

    def __init__(self, in_ch: int, out_ch: int, spatial: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index in range(int(math.log2(spatial))):
            layers += [nn.Conv2d(in_ch if index == 0 else out_ch, out_ch, 3, 2, 1), nn.LeakyReLU()]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(out_ch, out_ch)
        self.out_ch = out_ch

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.convs(x).reshape(-1, self.out_ch))


def _upsample_add(coarse: Tensor, lateral: Tensor) -> Tensor:
    return F.interpolate(coarse, size=lateral.shape[-2:], mode="bilinear", align_corners=True) + lateral


class E4EEncoder(nn.Module):
    """``forward(images [B, 3, S, S] in [-1, 1], latent_avg) -> W+ [B, n_styles, style_dim]``."""

    def __init__(self, config: E4EConfig = FFHQ_E4E) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        self.input_layer = ir_se_stem(widths[0])
        self.body = ir_se_body(config.units, widths)
        coarse, fine, dim = config.input_size // 16, config.input_size // 4, config.style_dim
        self.styles = nn.ModuleList()
        for row in range(config.n_styles):
            spatial = coarse if row < config.coarse_rows else coarse * 2 if row < config.middle_rows else fine
            self.styles.append(GradualStyleBlock(widths[3], dim, spatial))
        self.latlayer1 = nn.Conv2d(widths[2], dim, 1)
        self.latlayer2 = nn.Conv2d(widths[1], dim, 1)

    def codes(self, images: Tensor) -> Tensor:
        """The offsets from the average latent, [B, n_styles, style_dim]."""
        size = self.config.input_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(
                images, size=(size, size), mode="bilinear", align_corners=False, antialias=True
            )
        x = self.input_layer(images)
        tap_fine, tap_mid, tap_coarse = self.config.tap_units
        taps: dict[int, Tensor] = {}
        for index, unit in enumerate(self.body):
            x = unit(x)
            if index in (tap_fine, tap_mid, tap_coarse):
                taps[index] = x
        c1, c2, c3 = taps[tap_fine], taps[tap_mid], taps[tap_coarse]
        base = self.styles[0](c3)
        rows = [base]
        features = c3
        pyramid = c3
        for row in range(1, self.config.n_styles):
            if row == self.config.coarse_rows:
                pyramid = _upsample_add(c3, self.latlayer1(c2))
                features = pyramid
            elif row == self.config.middle_rows:
                features = _upsample_add(pyramid, self.latlayer2(c1))
            rows.append(base + self.styles[row](features))
        return torch.stack(rows, dim=1)

    def forward(self, images: Tensor, latent_avg: Tensor | None = None) -> Tensor:
        codes = self.codes(images)
        return (
            codes
            if latent_avg is None
            else codes + latent_avg.to(codes.dtype).reshape(1, -1, codes.shape[-1])
        )
