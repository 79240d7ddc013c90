"""``--swapper ghost``: an AEI-Net generator (GHOST's official weights, or a ``faceforge train-oneshot``
model folder) run in PyTorch or onnxruntime.

GHOST's conventions, kept where they decide the output (``docs/ghost.md``):

- Source: each view's face cropped at 224 px to the best of GHOST's five pose templates (black border),
  resized to 112 (bilinear, ``align_corners=True``), embedded by ArcFace iResNet-100; the raw embeddings
  are averaged over the views. A model folder embeds the source the way it was trained: its recorded
  identity encoder on 256-px GHOST crops.
- Target: the pipeline hands 256-px crops aligned to the frontal template (``arcface_112_v1``, GHOST's
  template 3). A turned head, for which GHOST would have picked a side template, is re-warped to that
  template before the generator and warped back after, so the generator sees the layout it was trained on.
- Output: ``Y·0.5 + 0.5`` to uint8 RGB (rounded and clipped); no mask of its own, the compositor's
  landmark mask applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from faceforge.analysis.crop_identity import ENCODERS, CropIdentity, create_crop_identity
from faceforge.errors import InputError, WeightsError
from faceforge.geometry.alignment import TEMPLATES, Template, anchor_points
from faceforge.geometry.ghost_crop import FRONTAL_POSE, ghost_alignment
from faceforge.models.folder import MODEL_FILE, ModelFolder
from faceforge.models.oneshot import is_oneshot_folder, load_oneshot_generator, read_oneshot_config
from faceforge.nets.aeinet import AEINet, aeinet_config_from_state_dict
from faceforge.swappers.base import release_models, require_views, stacked_crops
from faceforge.swappers.neural_options import NeuralOptions
from faceforge.types import AlignedFace, SourceIdentity, SwapResult
from faceforge.weights import default_cache_dir, resolve_weights
from faceforge.weights.cache import sha256_file
from faceforge.weights.loading import load_state_dict

DEFAULT_GENERATOR = "ghost-unet-2blocks"
CROP_SIZE = 256
GHOST_SOURCE_CROP = 224  # GHOST embeds the source from its 224-px crop
ONNX_OPSET = 17
EXPORT_FOLDER = "onnx-exports"  # inside the weights cache; exports are named by their weights' sha256


@dataclass(frozen=True, slots=True)
class SourceConvention:
    """How a generator's source identity is cropped: crop side and whether pose templates are used (which
    also decides whether turned target heads are re-warped to them)."""

    crop_size: int
    poses: bool


@dataclass(slots=True)
class LoadedGenerator:
    """A generator on the CPU in float32 with everything needed to run it and embed its sources."""

    model: AEINet
    weights_file: Path  # the file holding its weights (the export cache is keyed by its hash)
    identity: CropIdentity
    source: SourceConvention


def torch_runtime(device: str, precision: str) -> tuple[torch.device, torch.dtype]:
    """The torch device and compute dtype for NeuralOptions' ``device`` and ``precision``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"Device '{device}' needs PyTorch with CUDA and a GPU; this one has neither.")
    target = torch.device(device)
    if precision == "fp16" and target.type != "cuda":
        raise InputError("fp16 runs on a CUDA device only; use --precision bf16, fp32 or auto on the CPU.")
    if precision == "bf16":
        return target, torch.bfloat16
    half = precision == "fp16" or (precision == "auto" and target.type == "cuda")
    return target, torch.float16 if half else torch.float32


def load_generator(options: NeuralOptions) -> LoadedGenerator:
    """The generator ``options.weights`` names (default: GHOST's 2-block U-Net) and its identity encoder."""
    path = resolve_weights(options.weights or DEFAULT_GENERATOR)
    if path.is_dir():
        return _load_model_folder(path, options.identity_weights)
    state = load_state_dict(path)
    model = AEINet(aeinet_config_from_state_dict(state))
    model.load_state_dict(state, strict=True)
    identity = create_crop_identity("arcface", options.identity_weights, align_corners=True)
    loaded = LoadedGenerator(model.eval(), path, identity, SourceConvention(GHOST_SOURCE_CROP, poses=True))
    _check_identity_size(loaded, path)
    return loaded


def _load_model_folder(folder: Path, identity_weights: str | None) -> LoadedGenerator:
    """A ``faceforge train-oneshot`` folder's latest generator, with the identity encoder and source crop
    it was trained with."""
    if not is_oneshot_folder(folder):
        raise WeightsError(
            f"{folder} is a folder, not a one-shot model folder from `faceforge train-oneshot`."
        )
    model, identity_section = load_oneshot_generator(folder)
    crop: dict[str, Any] = read_oneshot_config(folder)["crop"]
    crop_size = int(crop.get("size", CROP_SIZE))
    encoder = identity_section.get("encoder")
    if encoder not in ENCODERS:
        raise WeightsError(f"{folder}/config.json names no identity encoder faceforge knows ({encoder!r}).")
    identity = create_crop_identity(
        encoder, identity_weights or identity_section.get("weights"), crop_size=crop_size
    )
    weights_file = ModelFolder(folder).resolve("latest") / MODEL_FILE
    loaded = LoadedGenerator(
        model, weights_file, identity, SourceConvention(crop_size, bool(crop.get("poses")))
    )
    _check_identity_size(loaded, folder)
    return loaded


def _check_identity_size(loaded: LoadedGenerator, where: Path) -> None:
    if loaded.identity.dim != loaded.model.config.c_id:
        raise WeightsError(
            f"The generator in {where} takes {loaded.model.config.c_id}-d identities but its identity "
            f"network gives {loaded.identity.dim}-d ones; pass the matching --identity-weights."
        )


def cached_onnx_export(loaded: LoadedGenerator, cache_dir: Path | None = None) -> Path:
    """The generator exported to ONNX, written once into the weights cache under its weights' sha256."""
    folder = (cache_dir if cache_dir is not None else default_cache_dir()) / EXPORT_FOLDER
    digest = sha256_file(loaded.weights_file)
    path = folder / f"aeinet-{digest[:24]}-opset{ONNX_OPSET}.onnx"
    if not path.is_file():
        from faceforge.nets.onnx_export import export_aeinet_onnx

        folder.mkdir(parents=True, exist_ok=True)
        export_aeinet_onnx(loaded.model, path, opset=ONNX_OPSET)
    return path


class GhostSwapper:
    """Implements the swapper protocol with an AEI-Net generator; see the module docstring. Turned heads are
    re-aligned to GHOST's side templates when the weights were trained that way (always for GHOST's
    official weights)."""

    name = "ghost"
    needs_source = True
    crop_size = CROP_SIZE
    template: Template = TEMPLATES["arcface_112_v1"]

    def __init__(self, options: NeuralOptions | None = None) -> None:
        options = options or NeuralOptions()
        if options.backend == "onnx" and options.precision in ("fp16", "bf16"):
            raise InputError(
                f"The onnx backend runs the generator in fp32; use --backend torch for {options.precision}."
            )
        self.device, self.dtype = torch_runtime(options.device, options.precision)
        loaded = load_generator(options)
        self.config = loaded.model.config
        self.source_convention = loaded.source
        # The identity network stays float32 (as in GHOST); only the generator is halved.
        self.identity = loaded.identity.to(self.device)
        self.generator: TorchGenerator | OnnxGenerator = (
            OnnxGenerator(cached_onnx_export(loaded), options.device)
            if options.backend == "onnx"
            else TorchGenerator(loaded.model, self.device, self.dtype)
        )

    def close(self) -> None:
        """Release the generator and the identity network."""
        release_models(self, "generator", "identity")

    def prepare_source(self, source: SourceIdentity) -> np.ndarray:
        """The identity vector ``(1, c_id)`` float32: the mean of the views' raw embeddings."""
        require_views(source)
        size, poses = self.source_convention.crop_size, self.source_convention.poses
        crops = []
        for image, face in source.views:
            matrix, _ = ghost_alignment(anchor_points(face.landmarks), size, poses=poses)
            crops.append(cv2.warpAffine(image[..., :3], matrix, (size, size), flags=cv2.INTER_LINEAR))
        with torch.inference_mode():
            embeddings = self.identity(_to_unit_range(np.stack(crops), self.device, torch.float32))
        return embeddings.float().mean(dim=0, keepdim=True).cpu().numpy()

    def swap(self, targets: Sequence[AlignedFace], prepared: object) -> list[SwapResult]:
        if not targets:
            return []
        crops = stacked_crops(targets, self.crop_size)
        source = np.asarray(prepared, dtype=np.float32).reshape(1, -1)
        if source.shape[1] != self.config.c_id:
            raise ValueError(f"The prepared source has {source.shape[1]} values, not {self.config.c_id}.")
        posings = [self.pose_matrix(target) for target in targets]
        inputs = np.stack(
            [crop if m is None else _warp(crop, m) for crop, m in zip(crops, posings, strict=True)]
        )
        outputs = self.generator(inputs, source)
        return [
            SwapResult(image=out if m is None else _warp(out, m, inverse=True))
            for out, m in zip(outputs, posings, strict=True)
        ]

    def pose_matrix(self, target: AlignedFace) -> np.ndarray | None:
        """The crop-to-crop warp onto the side template GHOST would have chosen for this face, or None when
        that is the frontal one (or poses are off)."""
        if not self.source_convention.poses:
            return None
        matrix, chosen = ghost_alignment(anchor_points(target.landmarks), self.crop_size)
        return None if chosen == FRONTAL_POSE else matrix


class TorchGenerator:
    """An AEI-Net in PyTorch on ``device`` computing in ``dtype``: uint8 RGB crops and one identity in,
    uint8 RGB faces out, the whole batch in one forward pass under ``torch.inference_mode``.

    float16 halves the weights (as GHOST runs on CUDA); bfloat16 runs as autocast over float32 weights, so
    the operations autocast keeps in float32 stay there. Half precision gets channels-last input and float32
    contiguous NCHW: on the CPU of docs/benchmarks.md channels-last made float32 5-25% slower and bfloat16
    7-27% faster."""

    def __init__(self, model: AEINet, device: torch.device, dtype: torch.dtype) -> None:
        self.autocast = dtype == torch.bfloat16
        self.dtype = torch.float32 if self.autocast else dtype
        self.memory_format = torch.contiguous_format if dtype == torch.float32 else torch.channels_last
        self.model = model.eval().to(device, self.dtype)
        self.device = device

    def __call__(self, crops: np.ndarray, source: np.ndarray) -> np.ndarray:
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast)
        with torch.inference_mode(), autocast:
            target = _to_unit_range(crops, self.device, self.dtype)
            target = target.contiguous(memory_format=self.memory_format)
            z_id = torch.from_numpy(source).to(self.device, self.dtype).expand(len(crops), -1)
            return _to_pixels(self.model(target, z_id)[0])


class OnnxGenerator:
    """An exported AEI-Net (inputs ``target`` and ``source``, output ``output``) in onnxruntime, with
    :class:`TorchGenerator`'s interface."""

    def __init__(self, path: Path, device: str = "auto") -> None:
        from faceforge.weights.onnx_session import create_session

        self.session = create_session(path, device)

    def __call__(self, crops: np.ndarray, source: np.ndarray) -> np.ndarray:
        target = (crops.astype(np.float32) / 127.5 - 1.0).transpose(0, 3, 1, 2)
        sources = np.repeat(np.asarray(source, dtype=np.float32), len(crops), axis=0)
        (output,) = self.session.run(["output"], {"target": target, "source": sources})
        return _to_pixels(torch.from_numpy(output))


def _to_pixels(output: torch.Tensor) -> np.ndarray:
    """The generator's ``(N, 3, S, S)`` output in [-1, 1] -> ``(N, S, S, 3)`` uint8 RGB: ``Y·0.5 + 0.5``
    scaled to 0..255, rounded and clipped."""
    pixels = (output.float() * 127.5 + 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def _to_unit_range(crops: np.ndarray, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(N, S, S, 3)`` uint8 RGB -> ``(N, 3, S, S)`` in [-1, 1], GHOST's ``(x/255 - 0.5)/0.5``; its strides
    are channels-last (a view of the pixels' layout)."""
    batch = torch.from_numpy(np.ascontiguousarray(crops)).to(device).permute(0, 3, 1, 2)
    return batch.to(dtype).div_(127.5).sub_(1.0)


def _warp(image: np.ndarray, matrix: np.ndarray, inverse: bool = False) -> np.ndarray:
    flags = cv2.INTER_LINEAR | (cv2.WARP_INVERSE_MAP if inverse else 0)
    size = image.shape[1], image.shape[0]
    return cv2.warpAffine(image, matrix, size, flags=flags, borderMode=cv2.BORDER_REFLECT101)
