"""Processor names: the built-in ones, those registered with :func:`register_processor`, and third-party
ones from the ``faceforge.processors`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

from faceforge.plugins import Registry
from faceforge.processors.base import FaceProcessor, FrameProcessor
from faceforge.processors.watermark import WatermarkOptions

Stage = Literal["face", "frame"]
STAGES: tuple[Stage, ...] = ("face", "frame")
ProcessorFactory = Callable[[Any], FaceProcessor | FrameProcessor]


@dataclass(frozen=True, slots=True)
class ProcessorEntry:
    """How to build one processor: ``factory(options)`` with an instance of ``options`` (its own options
    dataclass, read by the CLI and config files) or None when it has none; ``stage`` says whether it
    works on swapped face crops (``face``) or on composed frames (``frame``)."""

    factory: ProcessorFactory
    stage: Stage
    options: type | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"A processor's stage is 'face' or 'frame', not {self.stage!r}.")


def _entry(name: str, loaded: object) -> ProcessorEntry:
    """What a ``faceforge.processors`` entry point loads must be a :class:`ProcessorEntry` (a bare
    factory would not say which stage it belongs to)."""
    if not isinstance(loaded, ProcessorEntry):
        raise TypeError(f"expected a ProcessorEntry, got {type(loaded).__name__}")
    return loaded


def _watermark(options: WatermarkOptions) -> FrameProcessor:
    from faceforge.processors.watermark import WatermarkProcessor

    return WatermarkProcessor(options)


def _builtins() -> Registry[ProcessorEntry]:
    registry: Registry[ProcessorEntry] = Registry("processor", "faceforge.processors", _entry)
    registry.register("watermark", ProcessorEntry(_watermark, "frame", WatermarkOptions))
    return registry


PROCESSORS = _builtins()


def register_processor(
    name: str, factory: ProcessorFactory, stage: Stage, options: type | None = None
) -> None:
    """Make ``factory`` available as processor ``name`` (see :class:`ProcessorEntry`)."""
    PROCESSORS.register(name, ProcessorEntry(factory, stage, options))


def unregister_processor(name: str) -> None:
    PROCESSORS.unregister(name)


def registered_processor(
    name: str, factory: ProcessorFactory, stage: Stage, options: type | None = None
) -> AbstractContextManager[ProcessorEntry]:
    """``factory`` registered as ``name`` for a ``with`` block (tests), removed afterwards."""
    return PROCESSORS.registered(name, ProcessorEntry(factory, stage, options))


def processor_names() -> list[str]:
    return PROCESSORS.names()


def processor_entry(name: str) -> ProcessorEntry:
    return PROCESSORS.get(name)


def create_processor(name: str, options: object | None = None) -> FaceProcessor | FrameProcessor:
    """Build processor ``name`` with ``options`` (an instance of its options dataclass, or its defaults)."""
    entry = PROCESSORS.get(name)
    if options is None and entry.options is not None:
        options = entry.options()
    return entry.factory(options)
