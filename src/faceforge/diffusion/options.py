"""The diffusion swapper's options (``swappers.diffusion.*``): standard library only, so ``swap --help``,
config files and the UI read them without loading torch or diffusers."""

from __future__ import annotations

from dataclasses import dataclass

from faceforge.errors import OptionError
from faceforge.options import check_declared, check_device, option

STRENGTH_RANGE = (0.05, 1.0)
AUTO_STRENGTHS = (0.3, 0.4, 0.5, 0.6, 0.7)


def parse_strength(text: str) -> float | None:
    """The fixed strength ``text`` names, or None for ``auto``; anything else is one sentence."""
    if text.strip().lower() == "auto":
        return None
    low, high = STRENGTH_RANGE
    try:
        value = float(text)
    except ValueError:
        raise OptionError(
            f"--strength must be a number from {low} to {high} or 'auto', not {text!r}."
        ) from None
    if not low <= value <= high:
        raise OptionError(f"--strength must be from {low} to {high} (or 'auto'), not {value:g}.")
    return value


@dataclass(frozen=True, slots=True)
class DiffusionSwapOptions:
    """Inpainting the target's face with a Stable Diffusion model and, usually, a LoRA of the source."""

    base: str | None = option(
        None,
        help="The inpainting model: a local diffusers folder, a .safetensors/.ckpt single file, or a name "
        "added with `faceforge weights add` (never downloaded).",
    )
    base_config: str | None = option(
        None,
        help="A single-file --base only: a local diffusers folder of the same family whose configs and "
        "tokenizers are used (a single file holds weights only).",
    )
    lora: str | None = option(
        None, help="A LoRA folder or .safetensors file (from `faceforge diffusion train-lora`)."
    )
    lora_scale: float = option(1.0, help="How strongly the LoRA applies (0: not at all).", min=0.0, max=2.0)
    prompt: str = option("a photo of a sks person's face", help="What the masked region should show.")
    negative_prompt: str = option(
        "blurry, deformed, cartoon, painting, waxy skin", help="What it should not show."
    )
    seed: int = option(0, help="Seed of the noise (the same seed gives the same output).", min=0)
    steps: int = option(30, help="Denoising steps (at strength s only about s x steps run).", min=1, max=500)
    guidance: float = option(6.0, help="Classifier-free guidance scale (1: off).", min=1.0, max=30.0)
    strength: str = option(
        "0.5",
        help="How far the face is re-noised, 0.05-1 (more: more of the source, less of the target), or "
        "'auto': try 0.3-0.7 and keep the best identity score that passes the face and pose check.",
    )
    max_pose_change: float = option(
        8.0, help="--strength auto: a candidate whose head pose moved more degrees than this fails.", min=0.0
    )
    resolution: int = option(
        0,
        help="Side of the face crop the model inpaints, a multiple of 8; 0: the model's own (512 for SD 1.5, "
        "1024 for SDXL).",
        min=0,
        max=2048,
    )
    hair_margin: float = option(
        0.0,
        help="How far the mask reaches past the face oval, as a fraction of the face size (hairline).",
        min=0.0,
        max=0.5,
    )
    mask_blur: float = option(
        0.03, help="Gaussian sigma of the mask's edge, fraction of the face size.", min=0.0, max=0.2
    )
    device: str = option("auto", help="auto (CUDA when there is one), cpu, cuda or cuda:N.")
    precision: str = option(
        "auto", help="auto is fp16 on CUDA and fp32 on the CPU.", choices=("auto", "fp32", "fp16", "bf16")
    )
    attention_slicing: bool = option(False, help="Compute attention in slices (less memory, slower).")
    vae_tiling: bool = option(False, help="Encode and decode the VAE in tiles (less memory at large sizes).")
    cpu_offload: bool = option(
        False, help="Keep each model on the CPU until it runs (CUDA; least GPU memory)."
    )
    video_frames: bool = option(
        False,
        help="Allow a video target, inpainted frame by frame with the fixed seed: it flickers, as nothing "
        "ties one frame's face to the next.",
    )

    def __post_init__(self) -> None:
        check_declared(self)
        check_device(self.device)
        parse_strength(self.strength)

    @property
    def strengths(self) -> tuple[float, ...]:
        """The strengths to try: the fixed one, or the auto set."""
        fixed = parse_strength(self.strength)
        return AUTO_STRENGTHS if fixed is None else (fixed,)

    def video_refusal(self) -> str | None:
        """Why a video target is refused with these options (None when it is allowed)."""
        if self.video_frames:
            return None
        return (
            "The diffusion swapper inpaints each frame on its own and flickers on video; pass "
            "--video-frames to run it frame by frame with the fixed seed anyway."
        )
