"""Options of the neural swappers (ghost, onnx): their weights and runtime, declared with
:func:`faceforge.options.option` so that ``faceforge swap``, config files and the UI read them.

Standard library only: the CLI reads these declarations without loading torch or onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from faceforge.options import check_declared, check_device, option

_WEIGHTS = "a `faceforge weights list` name or a file"


@dataclass(frozen=True, slots=True)
class NeuralOptions:
    """Weights and runtime of the neural swappers (ghost, onnx)."""

    weights: str | None = option(None, help=f"The swapper network, {_WEIGHTS}.")
    identity_weights: str | None = option(
        None, help=f"The identity network (ArcFace) that embeds the source face, {_WEIGHTS}."
    )
    converter_weights: str | None = option(
        None, help=f"onnx simswap/ghost models: the embedding converter (crossface), {_WEIGHTS}."
    )
    family: Literal["auto", "inswapper", "simswap", "ghost"] = option(
        "auto", help="onnx: the kind of model; auto reads it from the weights catalog or the crop size."
    )
    backend: Literal["torch", "onnx"] = option(
        "torch", help="ghost: run the generator in PyTorch or in onnxruntime."
    )
    device: str = option("auto", help="auto (CUDA when there is one), cpu, cuda or cuda:N.")
    precision: Literal["auto", "fp32", "fp16", "bf16"] = option(
        "auto",
        help="ghost: auto is fp16 on CUDA and fp32 on CPU; bf16 is bfloat16 autocast. onnx: a model runs "
        "in the precision it was exported in (auto).",
    )

    pixel_boost: int = option(
        0,
        help="onnx: swap on a crop this many px wide (256 or 512 for inswapper's 128) by running the model "
        "on its strided sub-grids and re-interleaving them; 0: the model's own size.",
        min=0,
    )

    def __post_init__(self) -> None:
        check_declared(self)
        check_device(self.device)
