"""The latent-editing workflow on photos: find and FFHQ-align the face, encode it (e4e) and/or invert it by
optimisation, swap identity by optimisation, render, and paste the generated face back into the photo
through the compose stage (its masks, colour transfer and blending, as every other swapper)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from faceforge.analysis.identity import mesh_five
from faceforge.compose.compositor import Compositor
from faceforge.config import SelectionOptions
from faceforge.errors import NoFaceError, WeightsError
from faceforge.latent.align import FfhqAlignment, align_ffhq
from faceforge.latent.checkpoints import LoadedEncoder, LoadedGenerator
from faceforge.latent.losses import ArcFaceIdentity, DlibFaceLoss, crop_to_arcface, crop_to_chip
from faceforge.latent.optimise import Objective, OptimisationResult, optimise_latent
from faceforge.latent.options import INVERT_DEFAULTS, SWAP_DEFAULTS, OptimiseOptions
from faceforge.pipeline.selection import FaceSelector
from faceforge.types import Face


def to_tensor(crops: list[np.ndarray], device: torch.device | str = "cpu") -> Tensor:
    """uint8 RGB crops (same size) → [B, 3, S, S] float in [-1, 1]."""
    array = np.stack(crops).astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(0, 3, 1, 2).contiguous().to(device)


def to_images(images: Tensor) -> list[np.ndarray]:
    """[B, 3, S, S] in about [-1, 1] → uint8 RGB crops (clamped)."""
    pixels = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().byte()
    return [np.ascontiguousarray(image) for image in pixels.permute(0, 2, 3, 1).cpu().numpy()]


def choose_face(faces: list[Face], image: np.ndarray, what: str, face_index: int | None = None) -> Face:
    """The face to edit: the largest, or the N-th from the left, with the selection rules of ``swap``."""
    if not faces:
        raise NoFaceError(f"No face was found in {what}.")
    options = SelectionOptions(mode="largest" if face_index is None else "index", face_index=face_index or 0)
    chosen = FaceSelector(options).select(faces, image)
    if not chosen:
        raise NoFaceError(
            f"{what} has {len(faces)} faces; --face-index {face_index} is not one of 0-{len(faces) - 1}."
        )
    return chosen[0].face


def chip_matrix(alignment: FfhqAlignment) -> Tensor:
    """[1, 2, 3] crop → dlib chip affine from the face's own five points in the crop."""
    aligned = alignment.aligned_face()
    five = mesh_five(alignment.face.with_(landmarks=aligned.landmarks))
    return torch.from_numpy(crop_to_chip(five)).float()[None]


@dataclass(frozen=True)
class FaceInputs:
    """Aligned faces as the losses take them: crops [B, 3, S, S] in [-1, 1] and, per face, the crop → dlib
    chip and crop → ArcFace 112-px affines [B, 2, 3]."""

    crops: Tensor
    chips: Tensor
    arcface: Tensor


def face_inputs(alignments: list[FfhqAlignment], device: torch.device | str = "cpu") -> FaceInputs:
    arcface = [crop_to_arcface(a.aligned_face().landmarks) for a in alignments]
    return FaceInputs(
        to_tensor([a.image for a in alignments], device),
        torch.cat([chip_matrix(a) for a in alignments]).to(device),
        torch.from_numpy(np.stack(arcface)).float().to(device),
    )


@dataclass
class LatentEditor:
    """A loaded generator (and e4e encoder when given) on one device. The dlib network (perceptual
    features, and the identity loss unless ``identity`` holds an ArcFace network) is loaded on first use."""

    generator: LoadedGenerator
    encoder: LoadedEncoder | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    face_loss: DlibFaceLoss | None = None
    identity: ArcFaceIdentity | None = None

    def __post_init__(self) -> None:
        self.generator.generator.to(self.device)
        if self.encoder is not None:
            self.encoder.encoder.to(self.device)
        if self.identity is not None:
            self.identity.to(self.device)

    @property
    def size(self) -> int:
        return self.generator.generator.config.size

    def _face_loss(self) -> DlibFaceLoss:
        if self.face_loss is None:
            self.face_loss = DlibFaceLoss().to(self.device)
        return self.face_loss

    def average(self, batch: int) -> Tensor:
        """The average latent as W+ for ``batch`` photos."""
        g = self.generator
        return g.latent_avg.to(self.device)[:, None].expand(batch, g.generator.n_latent, -1).clone()

    @torch.no_grad()
    def encode(self, crops: Tensor) -> Tensor:
        """e4e's W+ for [B, 3, S, S] crops in [-1, 1]."""
        if self.encoder is None:
            raise WeightsError("e4e inversion needs the e4e weights (--e4e FILE).")
        return self.encoder.encoder(crops.to(self.device), self.encoder.latent_avg.to(self.device))

    @torch.no_grad()
    def render(self, wplus: Tensor, noises: list[Tensor] | None = None) -> Tensor:
        return self.generator.generator.synthesis(wplus.to(self.device), noise=noises).float()

    def invert(
        self, faces: FaceInputs, start: Tensor | None = None, options: OptimiseOptions = INVERT_DEFAULTS
    ) -> OptimisationResult:
        """Optimise W+ and noise to reproduce the crops, from ``start`` (default: the average latent)."""
        start = self.average(len(faces.crops)) if start is None else start.to(self.device)
        objective = Objective(faces.crops.to(self.device), chip_matrices=faces.chips.to(self.device))
        face_loss = self._face_loss() if options.perceptual > 0 else None
        return optimise_latent(self.generator.generator, start, objective, options, face_loss)

    def swap(
        self,
        target: FaceInputs,
        source: FaceInputs,
        start: OptimisationResult,
        background: Tensor | None = None,
        options: OptimiseOptions = SWAP_DEFAULTS,
    ) -> OptimisationResult:
        """Optimise under the identity loss toward the sources (one per target), from the target's
        inversion ``start`` (latent and noise maps), reconstruction restricted to ``background``
        [B, 1, S, S] when given."""
        face_loss = self._face_loss()
        with torch.no_grad():
            if self.identity is None:
                embedding = face_loss(source.crops.to(self.device), source.chips.to(self.device)).embedding
            else:
                embedding = self.identity(source.crops.to(self.device), source.arcface.to(self.device))
        objective = Objective(
            target.crops.to(self.device),
            chip_matrices=target.chips.to(self.device),
            reconstruction_weight=None if background is None else background.to(self.device),
            source_embedding=embedding,
            identity_matrices=target.arcface.to(self.device),
        )
        noises = [noise.to(self.device) for noise in start.noises]
        return optimise_latent(
            self.generator.generator,
            start.wplus.to(self.device),
            objective,
            options,
            face_loss,
            start_noises=noises,
            identity=self.identity,
        )


def align_photo(
    analyser_faces: list[Face], image: np.ndarray, size: int, what: str, face_index: int | None = None
) -> FfhqAlignment:
    """The FFHQ crop of the chosen face of ``image`` at ``size`` px."""
    return align_ffhq(image, choose_face(analyser_faces, image, what, face_index), size)


def background_weight(photo: np.ndarray, alignment: FfhqAlignment, compositor: Compositor) -> Tensor:
    """[1, 1, S, S]: 1 where the compose mask leaves the target's pixels, 0 on the face."""
    mask = compositor.face_mask(photo, alignment.aligned_face())
    return torch.from_numpy(1.0 - mask).float()[None, None]


def paste_back(
    photo: np.ndarray, alignment: FfhqAlignment, crop: np.ndarray, compositor: Compositor
) -> np.ndarray:
    """The generated ``crop`` (aligned like ``alignment``) composed into ``photo``: a new array, with the
    pixels outside the compose mask's region untouched."""
    return compositor.compose(photo, alignment.aligned_face(), crop)
