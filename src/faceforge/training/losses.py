"""Reconstruction losses for the swap autoencoders, weighted per pixel.

Every term of :data:`LOSS_TERMS` is ``(pred, target, weight_map) -> scalar``: ``pred`` and ``target``
``(N, 3, H, W)`` in [0, 1], ``weight_map`` ``(N, 1, H, W)`` non-negative. Each term is a **weighted mean**
of a per-pixel error (so its scale does not depend on the mask's area): raising the weight of a region
makes the error there count more against the error elsewhere.

- ``ssim``: DSSIM ``(1 - SSIM) / 2`` from kornia's SSIM map (11-px Gaussian window, sigma 1.5).
- ``ms_ssim``: ``1 - MS-SSIM`` (Wang et al. 2003). The standard five scales need 176 px; here the number
  of scales adapts to the size (the coarsest scale keeps at least twice the 7-px window: 3 scales at
  64 px, 4 at 128, 5 at 256) with the standard scale weights truncated and renormalised; contrast-structure
  (and, at the coarsest scale, luminance) terms are weighted means, clamped at 1e-4 before the powers.
- ``l1``, ``mse``: mean absolute and squared error.

:func:`swap_loss` builds the weight map from a batch of :class:`~faceforge.training.data.FacesetDataset`
items: with ``mask_weighting``, ``OUTSIDE_WEIGHT + (1 - OUTSIDE_WEIGHT) * weight`` (the face region counts
fully, the background a little), else 1; times ``1 + (eye_multiplier - 1) * eyes + (mouth_multiplier - 1)
* mouth``. A learned mask adds ``mask_loss`` times the MSE to the face mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from kornia.filters import filter2d, get_gaussian_kernel2d
from kornia.metrics import ssim as kornia_ssim
from torch import Tensor

from faceforge.errors import OptionError

OUTSIDE_WEIGHT = 0.1  # weight of the background when mask_weighting is on
_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_MS_WINDOW, _MS_SIGMA = 7, 1.0
_C1, _C2 = 0.01**2, 0.03**2


def _per_image(value: Tensor, weight: Tensor) -> Tensor:
    """Each image's mean of ``value`` (N, C, H, W) under ``weight`` (N, 1, H, W): shape (N,)."""
    return (value * weight).sum(dim=(1, 2, 3)) / (weight.sum(dim=(1, 2, 3)) * value.shape[1]).clamp_min(1e-8)


def _weighted_mean(error: Tensor, weight: Tensor) -> Tensor:
    """The batch mean of the per-image weighted means. Normalising per image (not by the weight summed over
    the whole batch) makes the loss a plain mean over images, so DDP ranks that each see part of the batch
    average to exactly the whole batch's gradients."""
    return _per_image(error, weight).mean()


def ssim_loss(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    ssim_map = kornia_ssim(pred.float(), target.float(), window_size=11)
    return _weighted_mean((1.0 - ssim_map) * 0.5, weight.float())


def ms_ssim_loss(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    x, y, w = pred.float(), target.float(), weight.float()
    scales = 1
    while scales < len(_MS_SSIM_WEIGHTS) and min(x.shape[-2:]) >> scales >= 2 * _MS_WINDOW:
        scales += 1
    powers = torch.tensor(_MS_SSIM_WEIGHTS[:scales], device=x.device)
    powers = powers / powers.sum()
    kernel = get_gaussian_kernel2d(_MS_WINDOW, (_MS_SIGMA, _MS_SIGMA), device=x.device)
    values = []
    for scale in range(scales):
        mu_x, mu_y = filter2d(x, kernel), filter2d(y, kernel)
        var_x = filter2d(x * x, kernel) - mu_x**2
        var_y = filter2d(y * y, kernel) - mu_y**2
        cov = filter2d(x * y, kernel) - mu_x * mu_y
        cs = (2 * cov + _C2) / (var_x + var_y + _C2)
        if scale == scales - 1:
            cs = cs * (2 * mu_x * mu_y + _C1) / (mu_x**2 + mu_y**2 + _C1)
        values.append(_per_image(cs, w).clamp_min(1e-4))
        if scale < scales - 1:
            x, y, w = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2), F.avg_pool2d(w, 2)
    ms_ssim = torch.prod(torch.stack(values, dim=1) ** powers, dim=1)
    return (1.0 - ms_ssim).mean()


def l1_loss(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    return _weighted_mean((pred.float() - target.float()).abs(), weight.float())


def mse_loss(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    return _weighted_mean((pred.float() - target.float()) ** 2, weight.float())


LOSS_TERMS: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    "ssim": ssim_loss,
    "ms_ssim": ms_ssim_loss,
    "l1": l1_loss,
    "mse": mse_loss,
}


@dataclass(frozen=True, slots=True)
class LossConfig:
    """Which terms, with which weights, and how pixels are weighted (see the module docstring).
    ``terms`` may be given as lists (from JSON); it is stored as a tuple of ``(name, weight)`` pairs."""

    terms: tuple[tuple[str, float], ...] = (("ssim", 1.0), ("l1", 1.0))
    mask_weighting: bool = True
    eye_multiplier: float = 3.0
    mouth_multiplier: float = 2.0
    mask_loss: float = 1.0

    def __post_init__(self) -> None:
        terms = tuple((str(name), float(weight)) for name, weight in self.terms)
        object.__setattr__(self, "terms", terms)
        if not terms:
            raise OptionError("At least one loss term is needed.")
        for name, weight in terms:
            if name not in LOSS_TERMS:
                raise OptionError(f"Unknown loss '{name}'; choose from: {', '.join(LOSS_TERMS)}.")
            if weight < 0:
                raise OptionError(f"The weight of the '{name}' loss must not be negative.")
        if min(self.eye_multiplier, self.mouth_multiplier, self.mask_loss) < 0:
            raise OptionError("Eye and mouth multipliers and the mask loss weight must not be negative.")


def weight_map(batch: dict[str, Tensor], config: LossConfig) -> Tensor:
    """The per-pixel weight ``(N, 1, H, W)`` of the reconstruction terms for ``batch``."""
    region = batch["weight"].float()
    base = (
        OUTSIDE_WEIGHT + (1.0 - OUTSIDE_WEIGHT) * region if config.mask_weighting else torch.ones_like(region)
    )
    emphasis = torch.ones_like(region)
    if "eyes" in batch:
        emphasis = emphasis + (config.eye_multiplier - 1.0) * batch["eyes"].float()
    if "mouth" in batch:
        emphasis = emphasis + (config.mouth_multiplier - 1.0) * batch["mouth"].float()
    return base * emphasis


def swap_loss(
    pred_rgb: Tensor, pred_mask: Tensor | None, batch: dict[str, Tensor], config: LossConfig
) -> tuple[Tensor, dict[str, float]]:
    """The total loss of one side's reconstruction and its parts for logging: each term's unweighted value
    under its name, ``mask`` when a mask is learned, and ``total`` (``sum(weight * term) + mask_loss *
    mask``)."""
    weights = weight_map(batch, config)
    target = batch["target"]
    names, values = [], []
    total = pred_rgb.new_zeros((), dtype=torch.float32)
    for name, factor in config.terms:
        value = LOSS_TERMS[name](pred_rgb, target, weights)
        total = total + factor * value
        names.append(name)
        values.append(value)
    if pred_mask is not None and config.mask_loss > 0:
        value = F.mse_loss(pred_mask.float(), batch["mask"].float())
        total = total + config.mask_loss * value
        names.append("mask")
        values.append(value)
    parts = torch.stack([*values, total]).detach().tolist()  # one device sync for all of them
    return total, dict(zip([*names, "total"], parts, strict=True))
