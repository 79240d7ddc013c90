"""Loading an inpainting pipeline (SD 1.5 or SDXL family) from local files only, and a LoRA into it.

A base is a diffusers folder (``model_index.json``), a single checkpoint file (``.safetensors`` /
``.ckpt``, loaded with ``from_single_file`` and the configs of ``base_config``, a local diffusers folder
of the same family: a single file holds no tokenizer), or a name registered with ``faceforge weights add``
(resolved through the weights registry). Every diffusers call passes ``local_files_only=True``, so nothing
is fetched even when the Hugging Face offline variables are unset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceforge.errors import InputError, WeightsError
from faceforge.weights import resolve_weights

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
_XL_CLASSES = ("StableDiffusionXLInpaintPipeline", "StableDiffusionXLPipeline")


@dataclass(frozen=True, slots=True)
class Runtime:
    """Where and how the pipeline runs, and the memory options."""

    device: str = "auto"
    precision: str = "auto"
    attention_slicing: bool = False
    vae_tiling: bool = False
    cpu_offload: bool = False


def resolve_base(base: str | None) -> Path:
    """The base model's folder or file; one sentence when it is not given or not there."""
    if not base:
        raise InputError(
            "The diffusion swapper needs --base MODEL: a local diffusers folder or checkpoint file."
        )
    try:
        return resolve_weights(base)
    except WeightsError as error:
        raise WeightsError(
            f"The base model '{base}' is neither a local folder or file nor a name added with "
            f"`faceforge weights add` ({error})"
        ) from None


def is_xl(folder: Path) -> bool:
    """Whether a diffusers folder holds an SDXL-family pipeline (two text encoders)."""
    index = json.loads((folder / "model_index.json").read_text())
    return index.get("_class_name") in _XL_CLASSES or "text_encoder_2" in index


def _torch_runtime(runtime: Runtime) -> tuple[Any, Any]:
    import torch

    device = runtime.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"Device '{device}' needs PyTorch with CUDA and a GPU; this one has neither.")
    if runtime.precision == "fp16" and not device.startswith("cuda"):
        raise InputError("fp16 runs on a CUDA device only; use --precision fp32, bf16 or auto on the CPU.")
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    auto = torch.float16 if device.startswith("cuda") else torch.float32
    return torch.device(device), dtypes.get(runtime.precision, auto)


def load_inpaint_pipeline(
    base: str | None, base_config: str | None = None, runtime: Runtime | None = None
) -> Any:
    """The inpainting pipeline of ``base`` on the runtime's device and dtype, with its memory options."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionXLInpaintPipeline
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    # Their loading bars would interleave with our own progress bar.
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    runtime = runtime or Runtime()
    device, dtype = _torch_runtime(runtime)
    path = resolve_base(base)
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise InputError(f"The base model folder {path} is not a diffusers folder (no model_index.json).")
        kind = StableDiffusionXLInpaintPipeline if is_xl(path) else StableDiffusionInpaintPipeline
        pipeline = kind.from_pretrained(path, dtype=dtype, local_files_only=True)
    elif path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        if not base_config or not (Path(base_config) / "model_index.json").is_file():
            raise InputError(
                f"The single-file base {path.name} needs --base-config FOLDER: a local diffusers folder of "
                "the same family (SD 1.5 or SDXL) for its configs and tokenizers."
            )
        config = Path(base_config)
        kind = StableDiffusionXLInpaintPipeline if is_xl(config) else StableDiffusionInpaintPipeline
        pipeline = _from_single_file(kind, path, config, dtype)
    else:
        raise InputError(
            f"The base model {path} is neither a diffusers folder nor a .safetensors/.ckpt file."
        )
    if getattr(pipeline.unet.config, "in_channels", 9) != 9:
        raise InputError(
            f"The base model {path.name} is not an inpainting model (its UNet takes "
            f"{pipeline.unet.config.in_channels} channels, inpainting needs 9)."
        )
    pipeline.set_progress_bar_config(disable=True)
    if runtime.attention_slicing:
        pipeline.enable_attention_slicing()
    if runtime.vae_tiling:
        pipeline.vae.enable_tiling()
    if runtime.cpu_offload and device.type == "cuda":
        pipeline.enable_model_cpu_offload(device=device)
    else:
        pipeline.to(device)
    return pipeline


def _from_single_file(kind: Any, path: Path, config: Path, dtype: Any) -> Any:
    from diffusers.loaders.single_file_utils import SingleFileComponentError

    try:
        return kind.from_single_file(path, config=str(config), dtype=dtype, local_files_only=True)
    except (SingleFileComponentError, ValueError, KeyError, OSError, RuntimeError) as error:
        raise WeightsError(
            f"{path.name} could not be read as a checkpoint of {config.name}'s family "
            f"({'SDXL' if is_xl(config) else 'SD 1.5'}): {_first_line(error)}"
        ) from None


def load_lora(pipeline: Any, lora: str, scale: float = 1.0) -> None:
    """Load the LoRA at ``lora`` (a folder or .safetensors file) into ``pipeline``; a LoRA made for
    another base (keys that match no layer, or other shapes) is one sentence."""
    path = Path(lora).expanduser()
    if not path.exists():
        raise InputError(f"The LoRA {path} does not exist.")
    try:
        if path.is_dir():
            pipeline.load_lora_weights(str(path), adapter_name="source", local_files_only=True)
        else:
            pipeline.load_lora_weights(
                str(path.parent), weight_name=path.name, adapter_name="source", local_files_only=True
            )
    except (ValueError, RuntimeError, KeyError, OSError) as error:
        raise WeightsError(
            f"The LoRA {path} does not fit this base model (made for another one?): {_first_line(error)}"
        ) from None
    if "source" not in pipeline.get_list_adapters().get("unet", []) and not _has_text_adapter(pipeline):
        raise WeightsError(f"The LoRA {path} matches no layer of this base model (made for another one?).")
    pipeline.set_adapters(["source"], adapter_weights=[scale])


def _has_text_adapter(pipeline: Any) -> bool:
    return any("source" in names for names in pipeline.get_list_adapters().values())


def _first_line(error: BaseException) -> str:
    """The first line of ``error`` that says something (PyTorch's load errors open with a heading)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    told = [line for line in lines if not line.endswith(":")] or lines or [type(error).__name__]
    text = told[0][:300]
    return text if text.endswith((".", ")")) else text + "."
