"""Optimisation in W+ (and the noise maps): inversion of photos and the identity-loss swap share this loop.

Inversion (:data:`INVERT_DEFAULTS`) reconstructs the target crops; the swap (:data:`SWAP_DEFAULTS`) starts
from the target's inversion and adds the identity distance to a source embedding, with the pixel
reconstruction limited to the region outside the face when a weight map is given, so the target's layout
and background stay while the face moves toward the source. Adam with the StyleGAN2 projector's learning
rate schedule (cosine ramp-down over the last quarter, linear ramp-up over the first 5 %), noise maps
renormalised after each step. On CUDA the generator runs under bfloat16 autocast; batched over photos.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from faceforge.errors import OptionError
from faceforge.latent.losses import (
    ArcFaceIdentity,
    DlibFaceLoss,
    FaceFeatures,
    feature_distance,
    ms_ssim_loss,
    noise_regularisation,
    normalise_noises,
    reconstruction_loss,
)
from faceforge.latent.options import INVERT_DEFAULTS, OptimiseOptions
from faceforge.nets.stylegan2 import StyleGAN2Generator


def learning_rate(step: int, steps: int, base: float, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    """The projector's schedule: linear ramp-up over the first ``rampup`` share of the steps, cosine
    ramp-down over the last ``rampdown`` share."""
    down = min(1.0, (1.0 - step / steps) / rampdown)
    up = min(1.0, (step + 1) / max(steps * rampup, 1.0))
    return base * (0.5 - 0.5 * math.cos(down * math.pi)) * up


@dataclass
class OptimisationResult:
    wplus: Tensor  # [B, n_latent, D], detached
    noises: list[Tensor]  # per layer, [B, 1, H, W], detached
    history: list[dict[str, float]] = field(default_factory=list)  # per step: loss terms (batch means)
    start: dict[str, Tensor] = field(default_factory=dict)  # per-sample terms at the starting latent
    end: dict[str, Tensor] = field(default_factory=dict)  # per-sample terms at the result


@dataclass
class Objective:
    """What the latent should reproduce: target crops [B, 3, S, S] in [-1, 1], the chip matrices of the
    dlib face losses, an optional reconstruction weight map, and for the swap the source embeddings
    [B, D] with, for an ArcFace identity network, its crop matrices [B, 2, 3]."""

    targets: Tensor
    chip_matrices: Tensor | None = None
    reconstruction_weight: Tensor | None = None
    source_embedding: Tensor | None = None
    identity_matrices: Tensor | None = None


def _terms(
    images: Tensor,
    objective: Objective,
    options: OptimiseOptions,
    face_loss: DlibFaceLoss | None,
    target_features: FaceFeatures | None,
    identity: ArcFaceIdentity | None,
) -> dict[str, Tensor]:
    terms = {
        "reconstruction": reconstruction_loss(images, objective.targets, objective.reconstruction_weight)
    }
    terms["ms_ssim"] = ms_ssim_loss(images, objective.targets)
    if face_loss is not None and target_features is not None:  # both or neither
        features = face_loss(images, objective.chip_matrices)
        terms["features"] = feature_distance(features, target_features)
        if objective.source_embedding is not None:
            source = objective.source_embedding.to(features.embedding)
            embedding = (
                features.embedding if identity is None else identity(images, objective.identity_matrices)
            )
            terms["identity"] = (embedding - source).norm(dim=1)
    return terms


def _weighted(terms: dict[str, Tensor], options: OptimiseOptions) -> Tensor:
    total = options.reconstruction * terms["reconstruction"] + options.perceptual * terms["ms_ssim"]
    if "features" in terms:
        total = total + options.perceptual * terms["features"]
    if "identity" in terms:
        total = total + options.identity * terms["identity"]
    return total.sum()


def optimise_latent(
    generator: StyleGAN2Generator,
    start: Tensor,
    objective: Objective,
    options: OptimiseOptions = INVERT_DEFAULTS,
    face_loss: DlibFaceLoss | None = None,
    progress: Callable[[int, dict[str, float]], None] | None = None,
    start_noises: list[Tensor] | None = None,
    identity: ArcFaceIdentity | None = None,
) -> OptimisationResult:
    """Optimise ``start`` (W+ [B, n_latent, D]) and the noise maps (``start_noises``, default the
    generator's stored ones) toward ``objective``; ``face_loss`` adds the perceptual feature term and, with
    ``objective.source_embedding``, the identity term (dlib's descriptors, or ``identity``'s embeddings on
    ``objective.identity_matrices``)."""
    if options.identity > 0 and (face_loss is None or objective.source_embedding is None):
        raise OptionError("An identity weight needs the identity network and a source embedding.")
    device = start.device
    batch = start.shape[0]
    if face_loss is not None and objective.chip_matrices is None:
        raise OptionError("The face losses need the crop-to-chip matrices.")
    wplus = start.detach().clone().requires_grad_(True)
    noises = [
        noise.detach().to(device).expand(batch, -1, -1, -1).clone().requires_grad_(options.optimise_noise)
        for noise in (start_noises if start_noises is not None else generator.noises.maps())
    ]
    params = [wplus, *noises] if options.optimise_noise else [wplus]
    optimiser = torch.optim.Adam(params, lr=options.lr)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    with torch.no_grad():
        target_features = face_loss(objective.targets, objective.chip_matrices) if face_loss else None

    def evaluate() -> tuple[Tensor, dict[str, Tensor]]:
        with autocast:
            images = generator.synthesis(wplus, noise=noises)
        terms = _terms(images.float(), objective, options, face_loss, target_features, identity)
        loss = _weighted(terms, options)
        if options.optimise_noise and options.noise_regularisation > 0:
            terms["noise"] = noise_regularisation(noises).expand(batch)
            loss = loss + options.noise_regularisation * terms["noise"][0]
        return loss, terms

    result = OptimisationResult(wplus.detach(), [n.detach() for n in noises])
    for step in range(options.steps):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, options.steps, options.lr)
        loss, terms = evaluate()
        if step == 0:
            result.start = {key: value.detach() for key, value in terms.items()}
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if options.optimise_noise:
            normalise_noises(noises)
        record = {key: float(value.detach().mean()) for key, value in terms.items()} | {
            "loss": float(loss.detach())
        }
        result.history.append(record)
        if progress is not None:
            progress(step + 1, record)
    with torch.no_grad():
        _, terms = evaluate()
    result.wplus, result.noises = wplus.detach(), [n.detach() for n in noises]
    result.end = {key: value.detach() for key, value in terms.items()}
    return result
