"""The options of ``faceforge diffusion train-lora``: standard library only, so ``--help`` loads no torch."""

from __future__ import annotations

from dataclasses import dataclass

from faceforge.errors import OptionError
from faceforge.options import check_declared, check_device, option


@dataclass(frozen=True, slots=True)
class LoraTrainOptions:
    """Training a LoRA of one person on a Stable Diffusion inpainting base (SD 1.5 or SDXL)."""

    base: str | None = option(
        None,
        help="The base inpainting model: a local diffusers folder, a .safetensors/.ckpt single file, or a "
        "name added with `faceforge weights add` (never downloaded).",
    )
    base_config: str | None = option(
        None, help="A single-file --base only: a local diffusers folder of the same family's configs."
    )
    resolution: int = option(512, help="Side of the training crops (px; SD 1.5: 512, SDXL: 1024).", min=32)
    margin: float = option(
        1.0, help="Margin around the face box, as a share of its size on each side taken together.", min=0.0
    )
    token: str = option("sks", help="The rare word that stands for the person in captions and prompts.")
    class_word: str = option("person", help="The class of the subject in the caption template.")
    template: str = option(
        "a photo of a {token} {class_word}'s face",
        help="Caption template ({token} and {class_word} are filled in); the swap's default prompt matches.",
    )
    extra_words: str = option("", help="Words appended to every caption (e.g. 'studio light').")
    captioner: str | None = option(
        None,
        help="A local image-captioning model folder (transformers); its description of each crop, which "
        "leaves the identity to the token, is appended to the template's caption.",
    )
    rank: int = option(8, help="LoRA rank of the UNet attention projections.", min=1, max=256)
    alpha: int = option(8, help="LoRA alpha (the update is scaled by alpha / rank).", min=1, max=1024)
    lr: float = option(1e-4, help="AdamW learning rate of the LoRA weights.", min=0.0, max=1.0)
    steps: int = option(800, help="Optimiser steps in all.", min=1)
    batch: int = option(1, help="Crops per micro-batch.", min=1)
    accumulation: int = option(1, help="Micro-batches per optimiser step (gradient accumulation).", min=1)
    gradient_checkpointing: bool = option(False, help="Recompute UNet activations (less memory, slower).")
    precision: str = option(
        "auto",
        help="auto: bf16 (or fp16) autocast on CUDA, fp32 on the CPU; fp32, bf16 or fp16 (CUDA only).",
        choices=("auto", "fp32", "bf16", "fp16"),
    )
    device: str = option("auto", help="auto, cpu, cuda or cuda:N.")
    seed: int = option(0, help="Seed of the noise, timesteps and batches (same seed, same run).", min=0)
    save_every: int = option(100, help="Write a checkpoint every this many steps (and at the end).", min=1)
    validation_images: int = option(
        2, help="Fixed-seed validation inpaintings per checkpoint, scored by identity (0: none).", min=0
    )
    validation_steps: int = option(20, help="Denoising steps of each validation image.", min=1, max=500)
    validation_strength: float = option(
        0.9, help="How far the validation crops' faces are re-noised.", min=0.05, max=1.0
    )

    def __post_init__(self) -> None:
        check_declared(self)
        check_device(self.device)
        if "{token}" not in self.template:
            raise OptionError("--template must contain {token}, the word that stands for the person.")
        if not self.token.strip() or " " in self.token.strip():
            raise OptionError(f"--token must be one word, not {self.token!r}.")

    def caption(self, described: str = "") -> str:
        """The caption of one crop: the template filled in, the extra words, then what a captioning
        model described."""
        text = self.template.format(token=self.token, class_word=self.class_word)
        return ", ".join(part for part in (text, self.extra_words.strip(), described.strip()) if part)
