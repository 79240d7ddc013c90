"""``--swapper diffusion``: a Stable Diffusion inpainting model (SD 1.5 or SDXL, optionally with a LoRA
of the source person) repaints the face oval of each aligned target crop.

The aligned crop plays the role of diffusers' ``padding_mask_crop``: the pipeline's template is
``full-face`` (the head outline plus a margin), so the model sees the face large, at its own resolution,
with enough context to match the surroundings, and no second crop-and-resize is needed. The inpainting
mask (:mod:`faceforge.diffusion.mask`) is returned as the SwapResult mask, so paste-back goes through
the compositor (colour matching, seam) and every pixel where the mask is zero is the target's own.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from faceforge.diffusion.base_models import Runtime, load_inpaint_pipeline, load_lora
from faceforge.diffusion.mask import inpaint_mask
from faceforge.diffusion.options import DiffusionSwapOptions
from faceforge.diffusion.strength import CandidateJudge, StrengthChoice, search_strength
from faceforge.errors import InputError
from faceforge.geometry.alignment import TEMPLATES, Template
from faceforge.swappers.base import release_models, require_views
from faceforge.types import AlignedFace, SourceIdentity, SwapResult


class DiffusionSwapper:
    """Implements the swapper protocol with masked inpainting; see the module docstring."""

    name = "diffusion"
    needs_source = True
    template: Template = TEMPLATES["full-face"]

    def __init__(self, options: DiffusionSwapOptions | None = None) -> None:
        self.options = options or DiffusionSwapOptions()
        if self.options.resolution % 8:
            raise InputError(
                f"--resolution must be a multiple of 8 (the VAE's grid), not {self.options.resolution}."
            )
        runtime = Runtime(
            self.options.device,
            self.options.precision,
            self.options.attention_slicing,
            self.options.vae_tiling,
            self.options.cpu_offload,
        )
        self.pipeline = load_inpaint_pipeline(self.options.base, self.options.base_config, runtime)
        native = int(self.pipeline.unet.config.sample_size) * int(self.pipeline.vae_scale_factor)
        self.crop_size = self.options.resolution or native
        if self.options.lora:
            load_lora(self.pipeline, self.options.lora, self.options.lora_scale)
        self._judge: CandidateJudge | None = None
        #: One strength search per face swapped with --strength auto, in order (the run reports them).
        self.strength_choices: list[StrengthChoice] = []

    def close(self) -> None:
        if self._judge is not None:
            self._judge.analyser.close()
        release_models(self, "pipeline", "_judge")

    def prepare_source(self, source: SourceIdentity) -> np.ndarray | None:
        """The source's identity descriptor (what --strength auto scores against); the LoRA carries the
        identity into the pixels."""
        require_views(source)
        if source.embedding is None and len(self.options.strengths) > 1:
            raise InputError(f"--strength auto needs the {source.name}'s identity, and none was computed.")
        return None if source.embedding is None else np.asarray(source.embedding, np.float32)

    def inpaint(self, crop: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
        """``crop`` with the masked region repainted at ``strength``; uint8, pixels where the mask is zero
        are the crop's own."""
        import torch
        from PIL import Image

        size = self.crop_size
        generator = torch.Generator("cpu").manual_seed(self.options.seed)
        result: Any = self.pipeline(
            prompt=self.options.prompt,
            negative_prompt=self.options.negative_prompt or None,
            image=Image.fromarray(crop),
            mask_image=Image.fromarray(np.round(mask * 255).astype(np.uint8)),
            strength=strength,
            # diffusers runs int(steps x strength) steps and refuses zero: at least one runs.
            num_inference_steps=max(self.options.steps, math.ceil(1.0 / strength)),
            guidance_scale=self.options.guidance,
            generator=generator,
            height=size,
            width=size,
            output_type="np",
        )
        painted = np.clip(np.round(np.asarray(result.images[0]) * 255.0), 0, 255).astype(np.uint8)
        return np.where(mask[..., None] > 0, painted, crop)

    def swap(self, targets: Sequence[AlignedFace], prepared: object) -> list[SwapResult]:
        return [self._swap_one(target, prepared) for target in targets]

    def _swap_one(self, target: AlignedFace, prepared: object) -> SwapResult:
        if target.image.shape != (self.crop_size, self.crop_size, 3):
            raise ValueError(f"Expected {self.crop_size}-px RGB aligned crops, got {target.image.shape}.")
        crop = np.ascontiguousarray(target.image)
        mask = inpaint_mask(
            target.landmarks, crop.shape[:2], self.options.hair_margin, self.options.mask_blur
        )
        strengths = self.options.strengths
        if len(strengths) == 1:
            return SwapResult(self.inpaint(crop, mask, strengths[0]), mask)
        source = np.asarray(prepared, np.float32)
        judge = self._candidate_judge()
        choice = search_strength(
            strengths,
            lambda strength: self.inpaint(crop, mask, strength),
            lambda strength, image: judge(strength, image, source, target.landmarks),
        )
        self.strength_choices.append(choice)
        print(f"diffusion --strength auto: {choice.summary()}", file=sys.stderr)
        if choice.chosen is None:
            return SwapResult(
                crop, mask, declined=f"no strength passed the face and pose check ({choice.summary()})"
            )
        return SwapResult(choice.chosen.image, mask)

    def _candidate_judge(self) -> CandidateJudge:
        if self._judge is None:
            from faceforge.analysis.analyser import FaceAnalyser

            self._judge = CandidateJudge(FaceAnalyser(), self.options.max_pose_change)
        return self._judge
