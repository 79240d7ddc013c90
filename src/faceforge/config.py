"""Typed options for a swap run, declared once.

Each stage owns its options dataclass; ``SwapConfig`` gathers them, and each registered swapper declares
its own options dataclass (``swappers.NAME.KEY`` keys: ``swappers.mesh.max_yaw``). The CLI, config files,
``faceforge config show``, ``faceforge evaluate`` and the UI all walk :func:`swap_declarations`, and
build a config with :func:`configured`; nothing reads options from global state.

This module is a leaf of the stages: it imports their option dataclasses, and no stage imports it back
except the pipeline, which runs a whole config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from faceforge.analysis.analyser import AnalysisOptions
from faceforge.analysis.identity import SAME_PERSON
from faceforge.analysis.tracking import TrackingOptions
from faceforge.compose.compositor import ComposeOptions
from faceforge.enhance.options import EnhanceOptions
from faceforge.media.limits import DEFAULT_MAX_PIXELS
from faceforge.options import DeclaredOption, check_declared, declared_options, option, with_values
from faceforge.swappers.base import Swapper
from faceforge.swappers.neural_options import NeuralOptions
from faceforge.swappers.registry import create_swapper, swapper_names, swapper_options

#: The key prefix of a swapper's own options: ``swappers.mesh.shape``.
SWAPPER_PREFIX = "swappers."


@dataclass(frozen=True, slots=True)
class SelectionOptions:
    """Which target faces are swapped. On the command line ``--all-faces``, ``--face-index N`` and
    ``--reference PHOTO`` choose the mode, so ``mode`` and ``face_index`` have no flag of their own."""

    mode: Literal["largest", "all", "index", "reference"] = option(
        "largest",
        help="Which faces: the largest, all, the N-th from the left (index) or the reference person's.",
        flag="",
    )
    face_index: int = option(
        0, help="index mode: the face to swap, counting from 0, left to right.", min=0, flag=""
    )
    threshold: float | None = option(
        None,
        help="Identity distance under which a face counts as the reference person (none: the identity "
        f"encoder's own, {SAME_PERSON:g} for dlib's).",
        min=0.0,
    )

    def __post_init__(self) -> None:
        check_declared(self)


@dataclass(frozen=True, slots=True)
class VideoOptions:
    codec: str = "libx264"
    crf: int = option(18, help="Video quality (x264/VP9 CRF; lower is better and larger).", min=0, max=63)
    preset: str = option(
        "veryfast",
        help="x264 speed preset: faster ones encode quicker into larger files.",
        choices=(
            "ultrafast",
            "superfast",
            "veryfast",
            "faster",
            "fast",
            "medium",
            "slow",
            "slower",
            "veryslow",
        ),
        flag="--x264-preset",
    )
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


def _processor_names() -> list[str]:
    """The processor registry's names, read when the CLI or a config file asks (plug-ins included)."""
    from faceforge.processors.registry import processor_names

    return processor_names()


@dataclass(frozen=True, slots=True)
class SwapConfig:
    swapper: str = option("mesh", help="The swapper (a registered name).", choices=swapper_names)
    selection: SelectionOptions = field(default_factory=SelectionOptions)
    compose: ComposeOptions = field(default_factory=ComposeOptions)
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    tracking: TrackingOptions = field(default_factory=TrackingOptions)  # landmark smoothing and gap bridging
    video: VideoOptions = field(default_factory=VideoOptions)
    #: Each swapper's own options by swapper name (an instance of its registered options dataclass);
    #: a swapper missing here runs with its defaults. Set them with :func:`configured`.
    swappers: Mapping[str, Any] = field(default_factory=dict)
    watermark: bool = option(False, help="Add a visible 'synthetic' mark to every output.")
    processors: tuple[str, ...] = option(
        (),
        help="Processors run after the swap, in this order (face processors on the swapped face, frame "
        "processors on the finished frame); the watermark, when on, runs last.",
        choices=_processor_names,
    )
    enhance: EnhanceOptions = field(default_factory=EnhanceOptions)  # --enhance face=NAME[:BLEND]
    overwrite: bool = False  # folders: images already in the output are skipped, so a rerun resumes

    def options_of(self, swapper: str) -> Any:
        """The options of ``swapper`` in this run: those set here, or its defaults (None when the
        swapper declares no options)."""
        if swapper in self.swappers:
            return self.swappers[swapper]
        kind = swapper_options(swapper)
        return kind() if kind is not None else None

    def create_swapper(self) -> Swapper:
        """The run's swapper, built with its options."""
        return create_swapper(self.swapper, self.options_of(self.swapper))


def swap_declarations() -> list[DeclaredOption]:
    """Every option of a swap run: ``SwapConfig``'s, then each registered swapper's under
    ``swappers.NAME.`` (plug-ins included, read now)."""
    found = declared_options(SwapConfig)
    for name in swapper_names():
        kind = swapper_options(name)
        if kind is not None:
            found.extend(declared_options(kind, f"{SWAPPER_PREFIX}{name}."))
    return found


def configured(config: SwapConfig, values: Mapping[str, Any]) -> SwapConfig:
    """A copy of ``config`` with each dotted key of :func:`swap_declarations` set to its (parsed) value;
    each options dataclass rebuilt runs its own checks."""
    plain: dict[str, Any] = {}
    per_swapper: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if key.startswith(SWAPPER_PREFIX):
            name, _, rest = key[len(SWAPPER_PREFIX) :].partition(".")
            per_swapper.setdefault(name, {})[rest] = value
        else:
            plain[key] = value
    result: SwapConfig = with_values(config, plain)
    if per_swapper:
        swappers = dict(result.swappers)
        for name, inner in per_swapper.items():
            swappers[name] = with_values(result.options_of(name), inner)
        result = replace(result, swappers=swappers)
    return result


def swap_settings(config: SwapConfig) -> dict[str, Any]:
    """Every option of :func:`swap_declarations` by dotted key, with its value in ``config``."""
    values: dict[str, Any] = {}
    for opt in swap_declarations():
        value: Any = config
        parts = opt.key.split(".")
        if opt.key.startswith(SWAPPER_PREFIX):
            value, parts = config.options_of(parts[1]), parts[2:]
        for part in parts:
            value = getattr(value, part)
        values[opt.key] = value
    return values


__all__ = [
    "SWAPPER_PREFIX",
    "NeuralOptions",  # the ghost and onnx swappers' options, kept importable from here
    "SelectionOptions",
    "SwapConfig",
    "VideoOptions",
    "configured",
    "swap_declarations",
    "swap_settings",
]
