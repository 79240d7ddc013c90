"""Tiny Stable Diffusion stacks with random weights, saved as local diffusers folders, for the diffusion
tests (inference and LoRA training): a UNet of two blocks (32 and 64 channels), a two-block VAE (latents at
half the image size), a CLIP text encoder of 32 features and a byte-level CLIP tokenizer written from an
in-test vocabulary (no merges, so every word is spelled out byte by byte). Nothing is downloaded.

`build_sd15(folder)` writes an SD 1.5-style inpainting pipeline (UNet with 9 input channels: 4 noisy
latents, 1 mask, 4 masked-image latents); `in_channels=4` gives the text-to-image layout. `build_sdxl(folder)`
writes the SDXL-style variant (two text encoders, the second with a projection, text-time conditioning).
Both take well under a second to build on one CPU core and run a 32-64 px image in a few tens of ms a step.
"""

from __future__ import annotations

import json
from pathlib import Path

# The byte-to-unicode table of GPT-2/CLIP's byte-level BPE: every byte gets a printable character.
_PRINTABLE = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]

TEXT_FEATURES = 32
TOKENS = 77  # the tokenizer's model_max_length (CLIP's): prompts are padded or cut to this many tokens


def _byte_characters() -> list[str]:
    extra = 0
    characters = []
    for byte in range(256):
        if byte in _PRINTABLE:
            characters.append(chr(byte))
        else:
            characters.append(chr(256 + extra))
            extra += 1
    return characters


def write_tokenizer(folder: Path) -> Path:
    """A CLIPTokenizer folder (vocab.json, merges.txt, configs) whose vocabulary is every byte-level
    character, alone and as a word end, plus the start and end tokens."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    characters = _byte_characters()
    vocabulary = [*characters, *(c + "</w>" for c in characters), "<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({token: index for index, token in enumerate(vocabulary)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer.from_pretrained(folder, model_max_length=TOKENS)
    tokenizer.save_pretrained(folder)
    return folder


def vocabulary_size() -> int:
    return 2 * 256 + 2


def _text_config(projection: bool = False):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        bos_token_id=vocabulary_size() - 2,
        eos_token_id=vocabulary_size() - 1,
        pad_token_id=vocabulary_size() - 1,
        hidden_size=TEXT_FEATURES,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocabulary_size(),
        max_position_embeddings=TOKENS,
        projection_dim=TEXT_FEATURES if projection else 512,
    )


def tiny_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        sample_size=64,
    )


def _tiny_unet(in_channels: int, **architecture):
    """A 2-block UNet (32/64 channels, one cross-attention level) with the variant's own conditioning."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        **architecture,
    )


def tiny_sd15_unet(in_channels: int = 9):
    return _tiny_unet(in_channels, cross_attention_dim=TEXT_FEATURES)


def tiny_sdxl_unet(in_channels: int = 9):
    # SDXL's added conditioning: the pooled text embedding (32) and six time ids (original size, crop
    # corner, target size) of 8 features each.
    return _tiny_unet(
        in_channels,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=TEXT_FEATURES + 6 * 8,
        cross_attention_dim=2 * TEXT_FEATURES,
    )


def tiny_scheduler():
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def build_sd15(folder: Path, seed: int = 0, in_channels: int = 9) -> Path:
    """Write a tiny SD 1.5-style pipeline to `folder` (diffusers layout) and return the folder. With
    in_channels=9 it is an inpainting model (StableDiffusionInpaintPipeline), with 4 a text-to-image one."""
    import torch
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = tiny_sd15_unet(in_channels)
    vae = tiny_vae()
    text_encoder = CLIPTextModel(_text_config())
    tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer(folder / "_tokenizer_source"))
    kind = StableDiffusionInpaintPipeline if in_channels == 9 else StableDiffusionPipeline
    pipeline = kind(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=tiny_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder, safe_serialization=True)
    _remove_tree(folder / "_tokenizer_source")
    return folder


def build_sdxl(folder: Path, seed: int = 0, in_channels: int = 9) -> Path:
    """Write a tiny SDXL-style inpainting (in_channels=9) or text-to-image (4) pipeline to `folder`."""
    import torch
    from diffusers import StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    torch.manual_seed(seed)
    unet = tiny_sdxl_unet(in_channels)
    vae = tiny_vae()
    text_encoder = CLIPTextModel(_text_config())
    text_encoder_2 = CLIPTextModelWithProjection(_text_config(projection=True))
    tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer(folder / "_tokenizer_source"))
    components = {
        "vae": vae,
        "text_encoder": text_encoder,
        "text_encoder_2": text_encoder_2,
        "tokenizer": tokenizer,
        "tokenizer_2": tokenizer,
        "unet": unet,
        "scheduler": tiny_scheduler(),
    }
    if in_channels == 9:
        pipeline = StableDiffusionXLInpaintPipeline(**components, requires_aesthetics_score=False)
    else:
        pipeline = StableDiffusionXLPipeline(**components)
    pipeline.save_pretrained(folder, safe_serialization=True)
    _remove_tree(folder / "_tokenizer_source")
    return folder


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder)
