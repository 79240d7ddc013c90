"""A StyleGAN2 generator whose state dict has the layout of the widely used PyTorch port (rosinality's
``model.py``): ``style.1..n`` mapping linears, ``input.input``, ``conv1``/``to_rgb1``, ``convs.*``,
``to_rgbs.*`` and the ``noises.noise_i`` buffers, with the same names, shapes and order, so the public
``g_ema`` tensors (FFHQ config-f 1024 px, 18 W+ rows; the 256 px model, 14 rows) load with ``strict=True``.

Written from the published architecture, without the port's CUDA kernels: the FIR up-sampling and blur
(``upfirdn2d``) are a zero-insertion plus a depthwise convolution, the fused leaky ReLU is a bias add,
``leaky_relu(0.2)`` and a gain of sqrt(2). Weights are stored unscaled and multiplied at run time by the
equalised-learning-rate constants, as the checkpoints expect.

The API is W+ first: :meth:`StyleGAN2Generator.mapping` turns z into w, :meth:`synthesis` draws an image
from a W+ tensor ``[B, n_latent, style_dim]`` (rows as in ``docs/latent.md``); images are RGB in [-1, 1]
(not clamped, as the port leaves them).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

BLUR_TAPS = (1.0, 3.0, 3.0, 1.0)
LRELU_GAIN = math.sqrt(2.0)


def fir_kernel(taps: tuple[float, ...] = BLUR_TAPS, gain: float = 1.0) -> Tensor:
    """The separable FIR kernel the port stores as ``*.kernel``: outer(taps, taps), normalised to sum
    ``gain``."""
    row = torch.tensor(taps, dtype=torch.float32)
    kernel = row[:, None] * row[None, :]
    return kernel / kernel.sum() * gain


def upfirdn2d(x: Tensor, kernel: Tensor, up: int = 1, pad: tuple[int, int] = (0, 0)) -> Tensor:
    """Up-sample by zero insertion, pad, then filter with ``kernel`` (per channel): the port's
    ``upfirdn2d`` for down = 1 and non-negative pads."""
    batch, channels, height, width = x.shape
    if up > 1:
        x = x.reshape(batch, channels, height, 1, width, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(batch, channels, height * up, width * up)
    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))
    weight = torch.flip(kernel, (0, 1)).to(x.dtype)[None, None].expand(channels, 1, *kernel.shape)
    return F.conv2d(x, weight, groups=channels)


def fused_leaky_relu(x: Tensor, bias: Tensor) -> Tensor:
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias.view(shape), 0.2) * LRELU_GAIN


class Blur(nn.Module):
    kernel: Tensor  # a buffer

    def __init__(self, pad: tuple[int, int], gain: float = 1.0) -> None:
        super().__init__()
        self.pad = pad
        self.register_buffer("kernel", fir_kernel(gain=gain))

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """×2 FIR up-sampling of the skip image (ToRGB)."""

    kernel: Tensor  # a buffer

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.factor = factor
        self.register_buffer("kernel", fir_kernel(gain=factor**2))
        spare = len(BLUR_TAPS) - factor
        self.pad = ((spare + 1) // 2 + factor - 1, spare // 2)

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class EqualLinear(nn.Module):
    """A linear layer with equalised learning rate: weight × lr_mul/sqrt(in), bias × lr_mul; optionally
    followed by the fused leaky ReLU."""

    def __init__(
        self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0, activate: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: Tensor) -> Tensor:
        if self.activate:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class PixelNorm(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """A convolution whose input channels are scaled per sample by a style (and whose output is
    demodulated), run as one grouped convolution over the batch; ``upsample`` makes it a stride-2
    transposed convolution followed by the FIR blur."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        style_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
    ) -> None:
        super().__init__()
        self.in_ch, self.out_ch, self.kernel_size = in_ch, out_ch, kernel
        self.upsample, self.demodulate = upsample, demodulate
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        if upsample:
            spare = len(BLUR_TAPS) - 2 - (kernel - 1)
            self.blur = Blur(pad=((spare + 1) // 2 + 1, spare // 2 + 1), gain=4.0)
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1.0)

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        batch, _, height, width = x.shape
        modulation = self.modulation(style).view(batch, 1, self.in_ch, 1, 1)
        weight = self.scale * self.weight * modulation
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4)) + 1e-8).view(
                batch, self.out_ch, 1, 1, 1
            )
        x = x.reshape(1, batch * self.in_ch, height, width)
        k = self.kernel_size
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(batch * self.in_ch, self.out_ch, k, k)
            out = F.conv_transpose2d(x, weight.to(x.dtype), stride=2, groups=batch)
            out = self.blur(out.reshape(batch, self.out_ch, *out.shape[2:]))
            return out
        weight = weight.reshape(batch * self.out_ch, self.in_ch, k, k)
        out = F.conv2d(x, weight.to(x.dtype), padding=k // 2, groups=batch)
        return out.reshape(batch, self.out_ch, height, width)


class NoiseInjection(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor, noise: Tensor | None) -> Tensor:
        if noise is None:
            noise = x.new_empty(x.shape[0], 1, x.shape[2], x.shape[3]).normal_()
        return x + self.weight * noise


class FusedLeakyReLU(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        return fused_leaky_relu(x, self.bias)


class StyledConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, style_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_ch)

    def forward(self, x: Tensor, style: Tensor, noise: Tensor | None) -> Tensor:
        return self.activate(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, style_dim: int, upsample: bool = True) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        if upsample:
            self.upsample = Upsample()
        self.conv = ModulatedConv2d(in_ch, 3, 1, style_dim, demodulate=False)

    def forward(self, x: Tensor, style: Tensor, skip: Tensor | None) -> Tensor:
        out = self.conv(x, style) + self.bias
        return out if skip is None else out + self.upsample(skip)


class ConstantInput(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, 4, 4))

    def forward(self, batch: int) -> Tensor:
        return self.input.expand(batch, -1, -1, -1)


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    """A generator's shape. ``channels[i]`` is the width at 4·2^i px, for 4 px up to ``size``."""

    size: int
    style_dim: int
    n_mlp: int
    channels: tuple[int, ...]
    lr_mlp: float = 0.01

    def __post_init__(self) -> None:
        log_size = math.log2(self.size)
        if self.size < 8 or log_size != int(log_size):
            raise ValueError(
                f"A StyleGAN2 generator's size is a power of two of at least 8, not {self.size}."
            )
        if len(self.channels) != int(log_size) - 1:
            raise ValueError(
                f"{self.size} px needs {int(log_size) - 1} channel widths, got {len(self.channels)}."
            )

    @classmethod
    def rosinality(
        cls, size: int, channel_multiplier: int = 2, style_dim: int = 512, n_mlp: int = 8
    ) -> GeneratorConfig:
        """The port's own widths: 512 up to 32 px, then 256·m, 128·m, 64·m, 32·m, 16·m."""
        table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}
        widths = []
        for i in range(int(math.log2(size)) - 1):
            resolution = 4 * 2**i
            widths.append(table[resolution] * (channel_multiplier if resolution >= 64 else 1))
        return cls(size, style_dim, n_mlp, tuple(widths))

    @property
    def log_size(self) -> int:
        return int(math.log2(self.size))

    @property
    def n_latent(self) -> int:
        """W+ rows: 2·log2(size) − 2 (18 at 1024 px, 14 at 256 px)."""
        return self.log_size * 2 - 2

    @property
    def num_layers(self) -> int:
        """Noise inputs, one per styled convolution."""
        return (self.log_size - 2) * 2 + 1


FFHQ_1024 = GeneratorConfig.rosinality(1024)
FFHQ_256 = GeneratorConfig.rosinality(256)


class Noises(nn.Module):
    """The fixed per-layer noise maps ``noise_i`` ([1, 1, 2^r, 2^r], r = (i + 5) // 2)."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        for index in range(num_layers):
            side = 2 ** ((index + 5) // 2)
            self.register_buffer(f"noise_{index}", torch.randn(1, 1, side, side))

    def maps(self) -> list[Tensor]:
        return [getattr(self, f"noise_{i}") for i in range(len(self._buffers))]


class StyleGAN2Generator(nn.Module):
    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.style_dim
        mapping: list[nn.Module] = [PixelNorm()]
        mapping += [EqualLinear(dim, dim, lr_mul=config.lr_mlp, activate=True) for _ in range(config.n_mlp)]
        self.style = nn.Sequential(*mapping)
        widths = config.channels
        self.input = ConstantInput(widths[0])
        self.conv1 = StyledConv(widths[0], widths[0], dim)
        self.to_rgb1 = ToRGB(widths[0], dim, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        for previous, width in itertools.pairwise(widths):
            self.convs.append(StyledConv(previous, width, dim, upsample=True))
            self.convs.append(StyledConv(width, width, dim))
            self.to_rgbs.append(ToRGB(width, dim))
        self.noises = Noises(config.num_layers)

    @property
    def n_latent(self) -> int:
        return self.config.n_latent

    def mapping(self, z: Tensor) -> Tensor:
        """z [B, style_dim] → w [B, style_dim]."""
        return self.style(z)

    @torch.no_grad()
    def mean_latent(self, samples: int = 4096, generator: torch.Generator | None = None) -> Tensor:
        """The mean w over ``samples`` Gaussian z, [1, style_dim] (the truncation centre)."""
        device = self.input.input.device
        z = torch.randn(samples, self.config.style_dim, generator=generator).to(device)
        return self.mapping(z).mean(dim=0, keepdim=True)

    def synthesis(
        self, wplus: Tensor, noise: list[Tensor] | None = None, randomize_noise: bool = False
    ) -> Tensor:
        """W+ [B, n_latent, style_dim] → images [B, 3, size, size] in about [-1, 1].

        ``noise``: one map per layer (broadcast over the batch); None takes the stored ``noises`` buffers,
        or fresh noise when ``randomize_noise``.
        """
        if wplus.ndim != 3 or wplus.shape[1] != self.n_latent:
            raise ValueError(f"Expected W+ of shape [B, {self.n_latent}, D], got {list(wplus.shape)}.")
        maps: list[Tensor | None]
        if noise is not None:
            maps = list(noise)
        elif randomize_noise:
            maps = [None] * self.config.num_layers
        else:
            maps = list(self.noises.maps())
        batch = wplus.shape[0]
        out = self.conv1(self.input(batch), wplus[:, 0], maps[0])
        skip = self.to_rgb1(out, wplus[:, 1], None)
        row = 1
        for index, to_rgb in enumerate(self.to_rgbs):
            up, same = self.convs[2 * index], self.convs[2 * index + 1]
            out = up(out, wplus[:, row], maps[2 * index + 1])
            out = same(out, wplus[:, row + 1], maps[2 * index + 2])
            skip = to_rgb(out, wplus[:, row + 2], skip)
            row += 2
        return skip

    def forward(
        self, wplus: Tensor, noise: list[Tensor] | None = None, randomize_noise: bool = False
    ) -> Tensor:
        return self.synthesis(wplus, noise, randomize_noise)


def is_regenerable(key: str) -> bool:
    """Buffers some public copies lack and that can be rebuilt: the FIR kernels (constants) and the fixed
    noise maps (random by nature)."""
    return key.startswith("noises.noise_") or key.endswith(".kernel")
