"""Typed options for a swap run, declared once.

Each stage owns its options dataclass; ``SwapConfig`` gathers them. The CLI and the Python API build
a ``SwapConfig`` and pass it down; nothing reads options from global state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from faceforge.analysis.analyser import AnalysisOptions
from faceforge.analysis.tracking import TrackingOptions
from faceforge.compose.compositor import ComposeOptions
from faceforge.enhance.options import EnhanceOptions
from faceforge.media.limits import DEFAULT_MAX_PIXELS
from faceforge.options import check_declared, option
from faceforge.pipeline.selection import SelectionOptions


@dataclass(frozen=True, slots=True)
class VideoOptions:
    codec: str = "libx264"
    crf: int = option(18, help="Video quality (x264/VP9 CRF; lower is better and larger).", min=0, max=63)
    preset: str = "veryfast"
    detect_every: int = option(
        10,
        help="Run the face detector every N video frames; faces are followed from their landmarks between.",
        min=1,
    )
    batch_size: int = option(4, help="Frames whose face crops go to the swapper together.", min=1)
    reverify_every: int = option(
        30, help="Frames between identity re-checks of a tracked face (reference selection).", min=1
    )
    strict: bool = option(
        False,
        help="Fail on a video that ends before the frame count its header declares (a file cut short); "
        "without it such a video is swapped as far as it goes, with a warning.",
    )
    max_pixels: int = option(
        DEFAULT_MAX_PIXELS,
        help="Refuse a video whose frames are larger than this many pixels (width x height), before "
        "decoding any.",
        min=1,
    )

    def __post_init__(self) -> None:
        check_declared(self)


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass(frozen=True, slots=True)
class NeuralOptions:
    """Weights and runtime of the neural swappers (ghost, onnx). Each weights value is a name from
    ``faceforge weights list`` or a file path."""

    weights: str | None = None  # the swapper's own network (generator .pth/.safetensors or .onnx)
    identity_weights: str | None = None  # the identity network that embeds the source face
    converter_weights: str | None = None  # an embedding converter some ONNX swappers need (crossface)
    family: Literal["auto", "inswapper", "simswap", "ghost"] = "auto"  # onnx: auto reads catalog or size
    backend: Literal["torch", "onnx"] = "torch"  # ghost: run the generator in PyTorch or onnxruntime
    device: str = "auto"  # "auto" picks CUDA when there is one; or "cpu", "cuda", "cuda:1"
    # auto: fp16 on CUDA, fp32 on CPU; bf16: bfloat16 autocast (ghost/torch; fast on CPUs with AMX)
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"

    def __post_init__(self) -> None:
        if not _DEVICE.fullmatch(self.device):
            raise ValueError(f"device takes auto, cpu or cuda[:N], not '{self.device}'.")


def _processor_names() -> list[str]:
    """The processor registry's names, read when the CLI or a config file asks (plug-ins included)."""
    from faceforge.processors.registry import processor_names

    return processor_names()


@dataclass(frozen=True, slots=True)
class SwapConfig:
    swapper: str = "mesh"
    selection: SelectionOptions = field(default_factory=SelectionOptions)
    compose: ComposeOptions = field(default_factory=ComposeOptions)
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    tracking: TrackingOptions = field(default_factory=TrackingOptions)  # landmark smoothing and gap bridging
    video: VideoOptions = field(default_factory=VideoOptions)
    neural: NeuralOptions = field(default_factory=NeuralOptions)  # --swapper ghost / onnx
    watermark: bool = False
    processors: tuple[str, ...] = option(
        (),
        help="Processors run after the swap, in this order (face processors on the swapped face, frame "
        "processors on the finished frame); the watermark, when on, runs last.",
        choices=_processor_names,
    )
    enhance: EnhanceOptions = field(default_factory=EnhanceOptions)  # --enhance face=NAME[:BLEND]
    overwrite: bool = False  # folders: images already in the output are skipped, so a rerun resumes
