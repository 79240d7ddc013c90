"""Identity of aligned GHOST crops, differentiable: the source embedding at inference, the identity loss in
training.

Both encoders take ``[B, 3, S, S]`` RGB crops in [-1, 1] laid out by :func:`~faceforge.geometry.ghost_crop.
ghost_alignment` and return one vector per crop. Their networks are frozen pretrained extractors: the
parameters never take gradients and stay in eval mode even when a parent module is put in training mode
(GHOST keeps ArcFace in eval mode while it trains), but gradients flow to the input pixels.
"""

from __future__ import annotations

from pathlib import Path

import kornia.geometry
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceforge.analysis.identity import (
    CHIP_PADDING,
    CHIP_SIZE,
    MODEL_FILE,
    dlib_chip_transform,
    face_recognition_models_dir,
)
from faceforge.errors import WeightsError
from faceforge.nets.dlib_resnet import DlibFaceResNet
from faceforge.nets.iresnet import INPUT_SIZE as ARCFACE_INPUT
from faceforge.nets.iresnet import IResNet, iresnet_from_state_dict
from faceforge.weights import resolve_weights
from faceforge.weights.loading import load_state_dict

DEFAULT_ARCFACE_WEIGHTS = "ghost-arcface-backbone"
ENCODERS = ("arcface", "dlib")

# Where dlib's five chip points (subject's left eye outer and inner corner, right eye outer and inner corner,
# nose base) lie in a crop aligned to the frontal GHOST template, as a share of the crop's side: the mean of
# the FaceMesh-derived points (faceforge.analysis.identity.mesh_five) over the seven near-frontal testdata
# stills, made left-right symmetric. Face to face they spread by about 0.01 of the side.
DLIB_FIVE_IN_GHOST_CROP = np.array(
    [(0.7102, 0.4509), (0.5884, 0.4567), (0.2898, 0.4509), (0.4116, 0.4567), (0.5000, 0.6737)]
)


class CropIdentity(nn.Module):
    """``forward(crops [B, 3, S, S] RGB in [-1, 1]) -> [B, dim]``; ``encoder`` names the network family."""

    dim: int
    encoder: str

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> CropIdentity:
        super().train(mode)
        self.network.eval()
        return self


class ArcFaceCropIdentity(CropIdentity):
    """An ArcFace iResNet on the crop resized to 112 px (bilinear), raw (un-normalised) output.

    ``align_corners``: GHOST resizes with ``align_corners=True`` at inference (its 224 crop) and ``False``
    in training (crops and generated faces alike); pass the convention the generator was trained against.
    """

    encoder = "arcface"

    def __init__(self, backbone: IResNet, align_corners: bool = False) -> None:
        super().__init__(backbone)
        self.align_corners = align_corners
        self.dim = backbone.fc.out_features

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        small = F.interpolate(
            crops, size=(ARCFACE_INPUT, ARCFACE_INPUT), mode="bilinear", align_corners=self.align_corners
        )
        return self.network(small)


def ghost_crop_to_dlib_chip(crop_size: int) -> np.ndarray:
    """The 2×3 affine from ``crop_size``-px GHOST crop pixels to dlib's 150-px chip pixels."""
    chip_to_crop, _ = dlib_chip_transform(DLIB_FIVE_IN_GHOST_CROP * crop_size, CHIP_SIZE, CHIP_PADDING)
    square = np.vstack([chip_to_crop, (0.0, 0.0, 1.0)])
    return np.linalg.inv(square)[:2]


class DlibCropIdentity(CropIdentity):
    """dlib's face recognition ResNet (its PyTorch port) on dlib's 150-px chip, cut from the crop by one fixed
    affine: the chip dlib would cut for a face whose five points sit where a frontal GHOST crop puts them.
    128-d descriptors, comparable by Euclidean distance with faceforge's other dlib embeddings."""

    encoder = "dlib"
    dim = 128
    chip_matrix: torch.Tensor  # a buffer (moves with the module), declared for the type checker

    def __init__(self, network: DlibFaceResNet, crop_size: int = 256) -> None:
        super().__init__(network)
        self.crop_size = crop_size
        matrix = torch.from_numpy(ghost_crop_to_dlib_chip(crop_size)).float()
        self.register_buffer("chip_matrix", matrix[None], persistent=False)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        if crops.shape[-2:] != (self.crop_size, self.crop_size):
            raise ValueError(f"Expected {self.crop_size}-px crops, got {tuple(crops.shape[-2:])}.")
        pixels = (crops + 1.0) * 127.5
        matrix = self.chip_matrix.to(pixels.dtype).expand(len(crops), 2, 3)
        chips = kornia.geometry.transform.warp_affine(
            pixels, matrix, (CHIP_SIZE, CHIP_SIZE), mode="bilinear", padding_mode="zeros", align_corners=True
        )
        return self.network(chips)


def create_crop_identity(
    encoder: str, weights: str | None = None, *, align_corners: bool = False, crop_size: int = 256
) -> CropIdentity:
    """The identity module named ``encoder``.

    "arcface" loads an iResNet from ``weights`` (a catalog name or a file; default
    ``ghost-arcface-backbone``) with the resize convention ``align_corners``; "dlib" reads dlib's model from
    the ``face-recognition-models`` package (``weights`` may name another copy of that ``.dat`` file) and
    cuts chips from ``crop_size``-px crops.
    """
    if encoder == "arcface":
        path = resolve_weights(weights or DEFAULT_ARCFACE_WEIGHTS)
        backbone = iresnet_from_state_dict(load_state_dict(path))
        return ArcFaceCropIdentity(backbone, align_corners=align_corners)
    if encoder == "dlib":
        path = Path(weights) if weights else face_recognition_models_dir() / MODEL_FILE
        if not path.is_file():
            raise WeightsError(f"The dlib identity model file {path} is missing.")
        return DlibCropIdentity(DlibFaceResNet.from_file(path), crop_size=crop_size)
    raise ValueError(f"Unknown identity encoder '{encoder}'; choose one of: {', '.join(ENCODERS)}.")
