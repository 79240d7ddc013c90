"""Weight initialisers for the swap autoencoders, by name (``AutoencoderConfig.init``).

Each takes the whole model and initialises every convolution and linear layer in place (biases to zero);
the draws come from torch's default generator, so ``torch.manual_seed`` makes them repeatable.

- ``he``: Kaiming-normal (fan in, gain for LeakyReLU 0.1) everywhere.
- ``icnr``: as ``he``, but the convolutions that feed a pixel shuffle
  (:class:`~faceforge.nets.blocks.Upscale`) get ICNR (Aitken et al. 2017): one He-drawn kernel per output
  channel repeated over its four sub-pixel positions, so a fresh upscaler is a nearest-neighbour
  upsampling and shows no checkerboard.
- ``conv_aware``: faceswap's convolution-aware initialisation (Aghajanyan 2017) for every convolution: for
  each output filter, the kernels of its input channels are orthogonal in the 2-D real-FFT domain (rows of
  random orthogonal matrices, one per block of ``kh * (kw // 2 + 1)`` input channels), taken back to space
  with an inverse real FFT, plus N(0, 0.05) noise, then the whole tensor is scaled to He variance. As in
  faceswap the Fourier coefficients are drawn real and the orthogonal matrices come from a random
  factorisation (QR here, SVD of a symmetric matrix there). Linear layers get ``he``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from faceforge.nets.blocks import SLOPE, Upscale

_GAIN = math.sqrt(2.0 / (1.0 + SLOPE**2))
_EPS_STD = 0.05  # faceswap's noise on convolution-aware kernels


def _he_std(weight: torch.Tensor) -> float:
    fan_in = weight.shape[1] * (weight[0, 0].numel() if weight.dim() > 2 else 1)
    return _GAIN / math.sqrt(fan_in)


def _zero_bias(module: nn.Module) -> None:
    bias = getattr(module, "bias", None)
    if isinstance(bias, torch.Tensor):
        nn.init.zeros_(bias)


def _layers(model: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


@torch.no_grad()
def he(model: nn.Module) -> None:
    for layer in _layers(model):
        layer.weight.normal_(0.0, _he_std(layer.weight))
        _zero_bias(layer)


@torch.no_grad()
def icnr(model: nn.Module) -> None:
    he(model)
    for block in model.modules():
        if isinstance(block, Upscale):
            weight = block.conv.weight  # (4 * c, cin, k, k); PixelShuffle takes channels 4c..4c+3 for c
            sub = torch.empty_like(weight[: weight.shape[0] // 4]).normal_(0.0, _he_std(weight))
            weight.copy_(sub.repeat_interleave(4, dim=0))


@torch.no_grad()
def _conv_aware_kernel(weight: torch.Tensor) -> torch.Tensor:
    cout, cin, kh, kw = weight.shape
    bins = kh * (kw // 2 + 1)
    if bins == 1:
        kernel = torch.randn(cout, cin, kh, kw) * _EPS_STD
    else:
        blocks = cin // bins + 1
        q, _ = torch.linalg.qr(torch.randn(cout * blocks, bins, bins))
        basis = q.transpose(1, 2).reshape(cout, blocks * bins, bins)[:, :cin]
        spectrum = basis.reshape(cout, cin, kh, kw // 2 + 1)
        kernel = torch.fft.irfft2(spectrum, s=(kh, kw)) + torch.randn(cout, cin, kh, kw) * _EPS_STD
    kernel *= _he_std(weight) / kernel.std().clamp_min(1e-12)
    return kernel.to(weight.dtype)


@torch.no_grad()
def conv_aware(model: nn.Module) -> None:
    he(model)
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d):
            layer.weight.copy_(_conv_aware_kernel(layer.weight))


INITIALISERS: dict[str, Callable[[nn.Module], None]] = {"he": he, "icnr": icnr, "conv_aware": conv_aware}
