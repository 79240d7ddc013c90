"""GHOST's losses for AEI-Net, plus the offline eye loss and the distillation terms.

Images are ``(B, 3, S, S)`` RGB in [-1, 1]; every function returns a scalar and is a plain mean over the
batch (so DDP ranks that each see part of a batch average to the whole batch's value), except the
reconstruction and eye losses, which are normalised by the number of pairs that count.

- adversarial (hinge, GHOST's form): the generator's ``Σ_scales mean(relu(1 − D(Y)))``; the
  discriminator's ``½ (Σ_scales mean(relu(1 − D(Xs))) + Σ_scales mean(relu(1 + D(Y))))``;
- attribute: ``½ Σ_levels mean((attr(Xt) − attr(Y))²)``, the generator's encoder re-applied to Y;
- identity: ``mean(1 − cos(id(Xs), id(Y)))``;
- reconstruction: ``Σ_b ½ mean((Y_b − Xt_b)²) · same_b / (Σ_b same_b + 1e-6)``;
- eyes (:func:`eye_loss`): the soft pupil position in each eye opening of Y against Xt's;
- distillation: ``mean((Y − Y_teacher)²)`` and the attribute form above on the teacher's encoder features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

PUPIL_TEMPERATURE = 0.05  # luminance (0..1) softness of the pupil finder: darker by 0.05 weighs e times more
_LUMA = (0.299, 0.587, 0.114)
_OUTSIDE = 1e4


def _hinge(logits: Sequence[Tensor], sign: float) -> Tensor:
    """``Σ_scales mean(relu(1 + sign · D))``."""
    return torch.stack([F.relu(1.0 + sign * scale.float()).mean() for scale in logits]).sum()


def generator_adversarial(fake_logits: Sequence[Tensor]) -> Tensor:
    return _hinge(fake_logits, -1.0)


def discriminator_hinge(real_logits: Sequence[Tensor], fake_logits: Sequence[Tensor]) -> Tensor:
    return 0.5 * (_hinge(real_logits, -1.0) + _hinge(fake_logits, 1.0))


def attribute_loss(target_attrs: Sequence[Tensor], output_attrs: Sequence[Tensor]) -> Tensor:
    terms = [F.mse_loss(y.float(), t.float()) for t, y in zip(target_attrs, output_attrs, strict=True)]
    return 0.5 * torch.stack(terms).sum()


def identity_loss(source_embedding: Tensor, output_embedding: Tensor) -> Tensor:
    return (1.0 - F.cosine_similarity(source_embedding.float(), output_embedding.float(), dim=1)).mean()


def reconstruction_loss(output: Tensor, target: Tensor, same: Tensor) -> Tensor:
    per_pair = 0.5 * (output.float() - target.float()).square().mean(dim=(1, 2, 3))
    return (per_pair * same).sum() / (same.sum() + 1e-6)


def pupil_positions(images: Tensor, eyes: Tensor) -> Tensor:
    """The soft pupil position in each eye opening: ``(B, E, 2)`` (x, y) pixels.

    Within the opening ``eyes`` ``(B, E, S, S)``, every pixel weighs ``exp(−luminance / T)`` (normalised to
    sum to 1): the iris and pupil are the darkest part of an open eye, so the weighted mean position
    follows the gaze. Differentiable in the pixels.
    """
    luma = torch.einsum("bchw,c->bhw", (images.float() + 1.0) * 0.5, images.new_tensor(_LUMA).float())
    size_y, size_x = luma.shape[-2:]
    # Pixels outside the opening are pushed down by far more than any luminance difference (an empty
    # opening gets uniform weights, finite, which eye_valid then discards).
    logits = (-luma / PUPIL_TEMPERATURE)[:, None] - _OUTSIDE * (eyes <= 0)
    weights = torch.softmax(logits.flatten(2), dim=2).view_as(eyes)
    ys = torch.arange(size_y, device=images.device, dtype=weights.dtype)
    xs = torch.arange(size_x, device=images.device, dtype=weights.dtype)
    return torch.stack((weights.sum(dim=2) @ xs, weights.sum(dim=3) @ ys), dim=-1)


def eye_loss(output: Tensor, target: Tensor, eyes: Tensor, eye_width: Tensor, eye_valid: Tensor) -> Tensor:
    """Gaze keeping: the squared distance between the soft pupil positions of Y and of Xt in each of the
    target's eye openings, in units of that eye's width, averaged over the eyes that count."""
    with torch.no_grad():
        wanted = pupil_positions(target, eyes)
    found = pupil_positions(output, eyes)
    distance = (found - wanted).square().sum(dim=-1) / eye_width.float().clamp_min(1.0).square()
    return (distance * eye_valid).sum() / eye_valid.sum().clamp_min(1.0)


def distillation_loss(student: Tensor, teacher: Tensor) -> Tensor:
    return F.mse_loss(student.float(), teacher.float())
