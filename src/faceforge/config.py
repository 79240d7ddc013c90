"""Typed options for a swap run, declared once.

Each stage owns its options dataclass; ``SwapConfig`` gathers them, and each registered swapper and
processor declares its own options dataclass (``swappers.NAME.KEY`` keys: ``swappers.mesh.max_yaw``;
``processor_options.NAME.KEY``: ``processor_options.watermark.text``, flag ``--watermark-text``). The
CLI, config files, ``faceforge config show``, ``faceforge evaluate`` and the UI all walk
:func:`swap_declarations`, and build a config with :func:`configured`; nothing reads options from global
state.

This module is a leaf of the stages: it imports their option dataclasses, and no stage imports it back
except the pipeline, which runs a whole config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
#: The key prefix of a processor's own options: ``processor_options.watermark.text``.
PROCESSOR_PREFIX = "processor_options."


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


def _processor_options(name: str) -> type | None:
    from faceforge.processors.registry import processor_entry

    return processor_entry(name).options


@dataclass(frozen=True, slots=True)
class _Owned:
    """Options that registered components own, one dataclass per component: keys ``PREFIX NAME . KEY``,
    the values of a run in ``SwapConfig``'s mapping ``field`` by component name. A processor's flag
    carries its name (``--watermark-text``): processors run together, so their keys could clash; a
    swapper's does not (one swapper runs, see :mod:`faceforge.cli.declared`)."""

    prefix: str
    field: str
    names: Callable[[], list[str]]
    options: Callable[[str], type | None]
    named_flags: bool

    def of(self, config: SwapConfig, name: str) -> Any:
        """Component ``name``'s options in ``config``: those set there, or its defaults (None when it
        declares none)."""
        chosen: Mapping[str, Any] = getattr(config, self.field)
        if name in chosen:
            return chosen[name]
        kind = self.options(name)
        return kind() if kind is not None else None

    def declarations(self) -> list[DeclaredOption]:
        found: list[DeclaredOption] = []
        for name in self.names():
            kind = self.options(name)
            if kind is None:
                continue
            for opt in declared_options(kind, f"{self.prefix}{name}."):
                if self.named_flags and opt.spec.flag is None:
                    opt = replace(opt, spec=replace(opt.spec, flag=f"--{name}-{opt.flag[2:]}"))
                found.append(opt)
        return found


_SWAPPERS = _Owned(SWAPPER_PREFIX, "swappers", swapper_names, swapper_options, named_flags=False)
_PROCESSORS = _Owned(PROCESSOR_PREFIX, "processor_options", _processor_names, _processor_options, True)
_OWNED = (_SWAPPERS, _PROCESSORS)


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
    #: Each processor's own options by processor name, like ``swappers`` (the watermark's text).
    processor_options: Mapping[str, Any] = field(default_factory=dict)
    enhance: EnhanceOptions = field(default_factory=EnhanceOptions)  # --enhance face=NAME[:BLEND]
    overwrite: bool = False  # folders: images already in the output are skipped, so a rerun resumes

    def options_of(self, swapper: str) -> Any:
        """The options of ``swapper`` in this run: those set here, or its defaults (None when the
        swapper declares no options)."""
        return _SWAPPERS.of(self, swapper)

    def processor_options_of(self, processor: str) -> Any:
        """The options of ``processor`` in this run, as :meth:`options_of` for a swapper."""
        return _PROCESSORS.of(self, processor)

    def create_swapper(self) -> Swapper:
        """The run's swapper, built with its options."""
        return create_swapper(self.swapper, self.options_of(self.swapper))


def swap_declarations() -> list[DeclaredOption]:
    """Every option of a swap run: ``SwapConfig``'s, then each registered swapper's under
    ``swappers.NAME.`` and each registered processor's under ``processor_options.NAME.`` (plug-ins
    included, read now)."""
    found = declared_options(SwapConfig)
    for owned in _OWNED:
        found.extend(owned.declarations())
    return found


def _owner(key: str) -> tuple[_Owned, str, str] | None:
    """For a component's own option key: who owns such keys, the component's name and the rest."""
    for owned in _OWNED:
        if key.startswith(owned.prefix):
            name, _, rest = key[len(owned.prefix) :].partition(".")
            return owned, name, rest
    return None


def configured(config: SwapConfig, values: Mapping[str, Any]) -> SwapConfig:
    """A copy of ``config`` with each dotted key of :func:`swap_declarations` set to its (parsed) value;
    each options dataclass rebuilt runs its own checks."""
    plain: dict[str, Any] = {}
    per_component: dict[_Owned, dict[str, dict[str, Any]]] = {}
    for key, value in values.items():
        found = _owner(key)
        if found is None:
            plain[key] = value
        else:
            owned, name, rest = found
            per_component.setdefault(owned, {}).setdefault(name, {})[rest] = value
    result: SwapConfig = with_values(config, plain)
    for owned, by_name in per_component.items():
        chosen = dict(getattr(result, owned.field))
        for name, inner in by_name.items():
            chosen[name] = with_values(owned.of(result, name), inner)
        changes: dict[str, Any] = {owned.field: chosen}
        result = replace(result, **changes)
    return result


def swap_settings(config: SwapConfig) -> dict[str, Any]:
    """Every option of :func:`swap_declarations` by dotted key, with its value in ``config``."""
    values: dict[str, Any] = {}
    for opt in swap_declarations():
        found = _owner(opt.key)
        value: Any = config if found is None else found[0].of(config, found[1])
        for part in (opt.key if found is None else found[2]).split("."):
            value = getattr(value, part)
        values[opt.key] = value
    return values


__all__ = [
    "PROCESSOR_PREFIX",
    "SWAPPER_PREFIX",
    "NeuralOptions",  # the ghost and onnx swappers' options, kept importable from here
    "SelectionOptions",
    "SwapConfig",
    "VideoOptions",
    "configured",
    "swap_declarations",
    "swap_settings",
]
