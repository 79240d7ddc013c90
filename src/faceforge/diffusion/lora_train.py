"""LoRA training on the UNet attention projections of an inpainting base (diffusers + peft).

The crops are encoded once (VAE latents, the latents of the crop with its face region blanked, the mask,
the caption's text embeddings: the VAE and text encoders stay frozen). Each optimiser step draws its
batches, noise and timesteps from a generator seeded by (seed, step), so a run resumed from a checkpoint
(LoRA weights and AdamW state, see :mod:`faceforge.diffusion.lora_checkpoints`) takes exactly the steps
an uninterrupted run takes. An inpainting UNet (9 input channels) learns to fill the masked face from its
surroundings, as the swap uses it; a text-to-image UNet (4) learns the plain denoising task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from faceforge.diffusion.base_models import Runtime, load_inpaint_pipeline
from faceforge.diffusion.faces_data import TrainingCrop
from faceforge.diffusion.lora_options import LoraTrainOptions
from faceforge.errors import InputError

LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
_STEP_SEED = 1_000_003


def face_region(size: int) -> np.ndarray:
    """The float mask (HxW, 1 inside) of the face in an aligned crop: an upright ellipse over the middle,
    where :func:`~faceforge.diffusion.faces_data.aligned_crop` puts the face at about half the side."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    centre = size / 2
    inside = ((xs - centre) / (0.3 * size)) ** 2 + ((ys - centre) / (0.36 * size)) ** 2 <= 1.0
    return inside.astype(np.float32)


def load_training_pipeline(options: LoraTrainOptions) -> Any:
    """The base's inpainting pipeline in fp32 on the run's device, every weight frozen, with a fresh LoRA
    (seeded) on the UNet's attention projections."""
    from peft import LoraConfig

    if options.precision in ("bf16", "fp16") and not _device(options).startswith("cuda"):
        raise InputError(
            f"{options.precision} training runs on a CUDA device only; use --precision auto or fp32 on the "
            "CPU."
        )
    pipeline = load_inpaint_pipeline(
        options.base, options.base_config, Runtime(device=options.device, precision="fp32")
    )
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        module = getattr(pipeline, name, None)
        if module is not None:
            module.requires_grad_(False)
    torch.manual_seed(options.seed)
    config = LoraConfig(
        r=options.rank, lora_alpha=options.alpha, init_lora_weights="gaussian", target_modules=LORA_TARGETS
    )
    pipeline.unet.add_adapter(config)
    if options.gradient_checkpointing:
        pipeline.unet.enable_gradient_checkpointing()
    return pipeline


def _device(options: LoraTrainOptions) -> str:
    if options.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return options.device


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the UNet's forward pass (None: plain fp32). The LoRA weights and the
    optimiser stay fp32; fp16 gets a gradient scaler. The CPU always trains in fp32."""
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if precision == "bf16" else torch.float16


@dataclass
class EncodedCrops:
    """The frozen encoders' view of the crops, on the training device."""

    latents: torch.Tensor
    masked_latents: torch.Tensor
    masks: torch.Tensor
    text: torch.Tensor
    pooled: torch.Tensor | None
    time_ids: torch.Tensor | None


@torch.no_grad()
def encode_crops(pipeline: Any, crops: Sequence[TrainingCrop]) -> EncodedCrops:
    device = pipeline.unet.device
    size = crops[0].image.shape[0]
    region = torch.from_numpy(face_region(size))[None, None]
    images = torch.from_numpy(np.stack([c.image for c in crops])).permute(0, 3, 1, 2).float() / 127.5 - 1
    vae = pipeline.vae
    scale = float(vae.config.scaling_factor)

    def encode(pixels: torch.Tensor) -> torch.Tensor:
        return vae.encode(pixels.to(device)).latent_dist.mean * scale

    latents = encode(images)
    masked = encode(images * (1 - region))
    masks = torch.nn.functional.interpolate(region, size=latents.shape[-2:]).repeat(len(crops), 1, 1, 1)
    encoded = pipeline.encode_prompt(
        prompt=[c.caption for c in crops],
        device=device,
        num_images_per_prompt=1,
        do_classifier_free_guidance=False,
    )
    pooled = time_ids = None
    if len(encoded) == 4:  # SDXL: pooled text embedding and the size/crop time ids
        pooled = encoded[2]
        time_ids = torch.tensor([[size, size, 0, 0, size, size]], dtype=torch.float32, device=device)
        time_ids = time_ids.repeat(len(crops), 1)
    return EncodedCrops(latents, masked, masks.to(device), encoded[0], pooled, time_ids)


@dataclass
class TrainProgress:
    """Where a run is: the steps done and the loss of each."""

    step: int = 0
    losses: list[float] = field(default_factory=list)


class LoraTrainer:
    """Runs optimiser steps on the LoRA weights of ``pipeline.unet``."""

    def __init__(self, pipeline: Any, crops: Sequence[TrainingCrop], options: LoraTrainOptions) -> None:
        from diffusers import DDPMScheduler

        self.pipeline = pipeline
        self.options = options
        self.unet = pipeline.unet
        self.data = encode_crops(pipeline, crops)
        self.count = len(crops)
        self.noise = DDPMScheduler.from_config(pipeline.scheduler.config)
        self.parameters = [p for p in self.unet.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.parameters, lr=options.lr)
        self.progress = TrainProgress()
        device = self.unet.device
        self.amp = _autocast_dtype(options.precision, device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp is torch.float16 else None

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.unet.device.type, dtype=self.amp)

    def _micro_batch(self, generator: torch.Generator) -> torch.Tensor:
        data, device = self.data, self.unet.device
        index = torch.randint(self.count, (self.options.batch,), generator=generator)
        latents = data.latents[index.to(device)]
        noise = torch.randn(latents.shape, generator=generator).to(device)
        steps = self.noise.config.num_train_timesteps
        timesteps = torch.randint(steps, (self.options.batch,), generator=generator).to(device)
        noisy = self.noise.add_noise(latents, noise, timesteps)
        chosen = index.to(device)
        if self.unet.config.in_channels == 9:
            noisy = torch.cat([noisy, data.masks[chosen], data.masked_latents[chosen]], dim=1)
        added = None
        if data.pooled is not None and data.time_ids is not None:
            added = {"text_embeds": data.pooled[chosen], "time_ids": data.time_ids[chosen]}
        with self._autocast():
            predicted = self.unet(
                noisy, timesteps, encoder_hidden_states=data.text[chosen], added_cond_kwargs=added
            ).sample
        if self.noise.config.prediction_type == "v_prediction":
            target = self.noise.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        return torch.nn.functional.mse_loss(predicted.float(), target.float())

    def step(self) -> float:
        """One optimiser step (``accumulation`` micro-batches); returns its mean loss."""
        self.unet.train()
        generator = torch.Generator().manual_seed(self.options.seed * _STEP_SEED + self.progress.step)
        total = 0.0
        for _ in range(self.options.accumulation):
            loss = self._micro_batch(generator) / self.options.accumulation
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
            else:
                loss.backward()
            total += float(loss.detach())
        if not np.isfinite(total):
            raise InputError(
                f"The loss became {total} at step {self.progress.step + 1}; "
                "lower --lr or use --precision fp32."
            )
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.progress.step += 1
        self.progress.losses.append(total)
        return total

    def lora_state(self) -> dict[str, torch.Tensor]:
        from peft.utils import get_peft_model_state_dict

        return {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(self.unet).items()}

    def restore(
        self, lora: dict[str, torch.Tensor], optimizer: dict[str, Any], progress: TrainProgress
    ) -> None:
        from peft.utils import set_peft_model_state_dict

        set_peft_model_state_dict(self.unet, lora)
        self.optimizer.load_state_dict(optimizer)
        self.progress = progress

    def run(self, until: int, after_step: Callable[[int, float], None]) -> None:
        """Steps until ``until`` steps are done, calling ``after_step(step, loss)`` after each."""
        while self.progress.step < until:
            loss = self.step()
            after_step(self.progress.step, loss)
