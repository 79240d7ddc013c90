"""Shared-encoder swap autoencoders: the deepfakes/faceswap and DeepFaceLab pair-training models.

One encoder sees faces of both people; each person has their own decoder (or, in the IAE layout, their
own intermediate layer). Trained to reconstruct A through decoder A and B through decoder B, the model
swaps by sending a face of A through decoder B.

Every layout is the same skeleton, sized by an :class:`AutoencoderConfig`:

- encoder: four 5x5 stride-2 convolutions (``w, 2w, 4w, 8w`` channels, ``w = encoder_width``), so an
  ``input_size`` face becomes an ``input_size / 16`` square map; then flatten, a ``dense``-unit linear
  bottleneck, a linear layer back to an ``8w`` map of the same size, and one pixel-shuffle upscale to
  ``4w`` channels at ``input_size / 8``;
- decoder: pixel-shuffle upscales from ``input_size / 8`` to ``output_size`` (``d * 2^(k-1) ... 2d, d``
  channels, ``d = decoder_width``), each followed by a residual block when ``residual``; a 5x5 convolution
  and a sigmoid give RGB in [0, 1], and a second such head gives the mask when ``learn_mask`` (it shares the
  decoder's trunk: a mask branch of its own would double the decoder's cost);
- ``intermediate`` (IAE): the shared encoder stops after the convolutions; three intermediate blocks
  (dense bottleneck, expansion, upscale to ``2w`` channels) ``inter_a``, ``inter_b`` and ``inter_both``
  follow it, and ONE shared decoder reads ``inter_a`` (or ``inter_b``) concatenated with ``inter_both``.
  The person-specific part is the intermediate layer, not the decoder.

Sizes: ``input_size`` a multiple of 16; ``output_size`` = ``input_size / 8`` times a power of two, at least
``input_size / 4``. ``ARCHITECTURES`` holds the named layouts; ``docs/training.md`` lists them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from faceforge.errors import OptionError
from faceforge.nets.blocks import Conv, Dense, Head, Residual, Upscale
from faceforge.nets.init import INITIALISERS
from faceforge.settings_io import refuse_unknown_keys

SIDES = ("a", "b")


@dataclass(frozen=True, slots=True)
class AutoencoderConfig:
    """The layout of a swap autoencoder (see the module docstring for what each number sizes).

    ``residual`` (an addition to the shared interface, default off): a residual block after each decoder
    upscale, as in Dfaker's decoder.
    """

    arch: str
    input_size: int
    output_size: int
    encoder_width: int
    decoder_width: int
    dense: int
    learn_mask: bool
    intermediate: bool = False
    init: str = "he"
    residual: bool = False

    def __post_init__(self) -> None:
        if self.arch != "custom" and self.arch not in _NAMES:
            raise ValueError(f"Unknown architecture '{self.arch}'; choose one of: {', '.join(_NAMES)}.")
        if self.init not in INITIALISERS:
            raise ValueError(f"Unknown initialiser '{self.init}'; choose one of: {', '.join(INITIALISERS)}.")
        if self.input_size < 16 or self.input_size % 16:
            raise ValueError(f"The input size must be a multiple of 16 pixels, not {self.input_size}.")
        ratio = self.output_size / (self.input_size // 8)
        if ratio < 2 or ratio != 2 ** round(math.log2(ratio)):
            raise ValueError(
                f"The output size must be the input size / 8 times a power of two, at least input / 4 "
                f"(input {self.input_size}: {self.input_size // 4}, {self.input_size // 2}, "
                f"{self.input_size}, {self.input_size * 2}, ...), not {self.output_size}."
            )
        if min(self.encoder_width, self.decoder_width, self.dense) < 1:
            raise ValueError("Encoder width, decoder width and dense size must be at least 1.")

    @property
    def upscales(self) -> int:
        """Decoder upscales from ``input_size / 8`` to ``output_size``."""
        return round(math.log2(self.output_size / (self.input_size // 8)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AutoencoderConfig:
        refuse_unknown_keys(cls, d, "autoencoder")
        return cls(**d)


_NAMES = ("lightweight", "original", "iae", "dfaker", "custom")

#: The named layouts, in the spirit of faceswap's model plugins of the same names.
#:
#: - ``lightweight``: 64 px in and out; ``original`` at about half the widths (encoder 64, decoder 32,
#:   dense 512), for weak hardware (about a quarter of the encoder's weights).
#: - ``original``: 64 px in and out; faceswap's "original" model: encoder 128-256-512-1024, dense 1024,
#:   decoder 256-128-64.
#: - ``iae``: 64 px; the original's widths with intermediate layers (inter_a, inter_b, inter_both) and one
#:   shared decoder.
#: - ``dfaker``: 64 px in, 128 px out, learned mask, residual decoder blocks 512-256-128-64 (Dfaker / DF).
#: - ``custom``: every number configurable; defaults to a DFL-H128-like layout: 128 px in and out, encoder
#:   128, dense 512, decoder 256-128-64 (width 64), learned mask.
ARCHITECTURES: dict[str, AutoencoderConfig] = {
    "lightweight": AutoencoderConfig("lightweight", 64, 64, 64, 32, 512, learn_mask=False),
    "original": AutoencoderConfig("original", 64, 64, 128, 64, 1024, learn_mask=False),
    "iae": AutoencoderConfig("iae", 64, 64, 128, 64, 1024, learn_mask=False, intermediate=True),
    "dfaker": AutoencoderConfig("dfaker", 64, 128, 128, 64, 1024, learn_mask=True, residual=True),
    "custom": AutoencoderConfig("custom", 128, 128, 128, 64, 512, learn_mask=True),
}


def scaled(config: AutoencoderConfig, width_scale: float) -> AutoencoderConfig:
    """The same layout with encoder width, decoder width and dense size times ``width_scale`` (at least 1).

    A scale of 0 or less (or not a number) is refused: it used to build a model one channel wide."""
    if not math.isfinite(width_scale) or width_scale <= 0:
        raise OptionError(f"width_scale must be a number greater than 0, got {width_scale}.")

    def times(value: int) -> int:
        return max(1, round(value * width_scale))

    return dataclasses.replace(
        config,
        encoder_width=times(config.encoder_width),
        decoder_width=times(config.decoder_width),
        dense=times(config.dense),
    )


class Decoder(nn.Module):
    """Upscales from ``cin`` channels at ``input_size / 8`` to the output size; RGB and optional mask."""

    def __init__(self, config: AutoencoderConfig, cin: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for level in range(config.upscales):
            cout = config.decoder_width * 2 ** (config.upscales - 1 - level)
            layers.append(Upscale(cin, cout))
            if config.residual:
                layers.append(Residual(cout))
            cin = cout
        self.trunk = nn.Sequential(*layers)
        self.rgb = Head(cin, 3)
        self.mask = Head(cin, 1) if config.learn_mask else None

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        features = self.trunk(x)
        return self.rgb(features), None if self.mask is None else self.mask(features)


def _convs(width: int) -> nn.Sequential:
    return nn.Sequential(
        Conv(3, width), Conv(width, 2 * width), Conv(2 * width, 4 * width), Conv(4 * width, 8 * width)
    )


class SwapAutoencoder(nn.Module):
    """A shared encoder and per-person decoders (or intermediate layers); see :func:`build_autoencoder`.

    Parameters are named ``encoder.*``, ``decoder_a.*``, ``decoder_b.*``; in the IAE layout ``encoder.*``,
    ``inter_a.*``, ``inter_b.*``, ``inter_both.*``, ``decoder.*``.
    """

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        w, size = config.encoder_width, config.input_size // 16
        flat = 8 * w * size * size
        if config.intermediate:
            self.encoder = _convs(w)
            self.inter_a, self.inter_b, self.inter_both = (
                nn.Sequential(Dense(flat, config.dense, 4 * w, size), Upscale(4 * w, 2 * w)) for _ in range(3)
            )
            self.decoder = Decoder(config, 4 * w)
        else:
            self.encoder = nn.Sequential(
                _convs(w), Dense(flat, config.dense, 8 * w, size), Upscale(8 * w, 4 * w)
            )
            self.decoder_a = Decoder(config, 4 * w)
            self.decoder_b = Decoder(config, 4 * w)

    def forward(self, x: Tensor, side: str) -> tuple[Tensor, Tensor | None]:
        """``x``: ``(N, 3, input, input)`` RGB in [0, 1]; ``side`` ``"a"`` or ``"b"`` picks the decoder.
        Returns RGB ``(N, 3, output, output)`` and the mask ``(N, 1, output, output)`` or None, in [0, 1]."""
        if side not in SIDES:
            raise ValueError(f"side must be 'a' or 'b', not {side!r}")
        code = self.encoder(x * 2.0 - 1.0)
        if self.config.intermediate:
            own = self.inter_a if side == "a" else self.inter_b
            return self.decoder(torch.cat([own(code), self.inter_both(code)], dim=1))
        return (self.decoder_a if side == "a" else self.decoder_b)(code)


def build_autoencoder(config: AutoencoderConfig) -> SwapAutoencoder:
    """A freshly initialised model (``config.init`` picks the initialiser)."""
    model = SwapAutoencoder(config)
    INITIALISERS[config.init](model)
    return model
