"""Options of the neural swappers, declared with :func:`faceforge.options.option` so that
``faceforge swap``, config files and the UI read them: :class:`GhostOptions` and :class:`OnnxOptions`
are what each swapper declares (``swappers.ghost.*``, ``swappers.onnx.*``); :class:`NeuralOptions` holds
the fields of both and is what the two swappers' constructors take.

A field the swappers share is written once, in a function each class calls (ruff's RUF009 cannot see
that a ``Literal`` alias is immutable, hence its noqa).
Standard library only: the CLI reads these declarations without loading torch or onnxruntime.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from faceforge.options import check_declared, check_device, option

_WEIGHTS = "a `faceforge weights list` name or a file"
Family: TypeAlias = Literal["auto", "inswapper", "simswap", "ghost"]
Backend: TypeAlias = Literal["torch", "onnx"]
Precision: TypeAlias = Literal["auto", "fp32", "fp16", "bf16"]


def _weights() -> Any:
    return option(None, help=f"The swapper network, {_WEIGHTS}.")


def _identity_weights() -> Any:
    return option(None, help=f"The identity network (ArcFace) that embeds the source face, {_WEIGHTS}.")


def _converter_weights() -> Any:
    return option(None, help=f"simswap/ghost models: the embedding converter (crossface), {_WEIGHTS}.")


def _family() -> Any:
    return option("auto", help="The kind of model; auto reads it from the weights catalog or the crop size.")


def _backend() -> Any:
    return option("torch", help="Run the generator in PyTorch or in onnxruntime.")


def _device() -> Any:
    return option("auto", help="auto (CUDA when there is one), cpu, cuda or cuda:N.")


def _ghost_precision() -> Any:
    return option("auto", help="auto is fp16 on CUDA and fp32 on CPU; bf16 is bfloat16 autocast.")


def _onnx_precision() -> Any:
    return option("auto", help="A model runs in the precision it was exported in (auto).")


def _pixel_boost() -> Any:
    return option(
        0,
        help="Swap on a crop this many px wide (256 or 512 for inswapper's 128) by running the model on "
        "its strided sub-grids and re-interleaving them; 0: the model's own size.",
        min=0,
    )


@dataclass(frozen=True, slots=True)
class GhostOptions:
    """The ghost swapper's options (GHOST's AEI-Net generator)."""

    weights: str | None = _weights()
    identity_weights: str | None = _identity_weights()
    backend: Backend = _backend()  # noqa: RUF009 (a Literal alias: immutable)
    device: str = _device()
    precision: Precision = _ghost_precision()  # noqa: RUF009 (a Literal alias: immutable)

    def __post_init__(self) -> None:
        check_declared(self)
        check_device(self.device)


@dataclass(frozen=True, slots=True)
class OnnxOptions:
    """The onnx swapper's options (inswapper, SimSwap, GHOST exports)."""

    weights: str | None = _weights()
    identity_weights: str | None = _identity_weights()
    converter_weights: str | None = _converter_weights()
    family: Family = _family()  # noqa: RUF009 (a Literal alias: immutable)
    device: str = _device()
    precision: Precision = _onnx_precision()  # noqa: RUF009 (a Literal alias: immutable)
    pixel_boost: int = _pixel_boost()

    def __post_init__(self) -> None:
        check_declared(self)
        check_device(self.device)


@dataclass(frozen=True, slots=True)
class NeuralOptions:
    """Weights and runtime of the neural swappers: the fields of :class:`GhostOptions` and
    :class:`OnnxOptions` together, as ``GhostSwapper`` and ``OnnxSwapper`` take them."""

    weights: str | None = _weights()
    identity_weights: str | None = _identity_weights()
    converter_weights: str | None = _converter_weights()
    family: Family = _family()  # noqa: RUF009 (a Literal alias: immutable)
    backend: Backend = _backend()  # noqa: RUF009 (a Literal alias: immutable)
    device: str = _device()
    precision: Precision = _ghost_precision()  # noqa: RUF009 (a Literal alias: immutable)
    pixel_boost: int = _pixel_boost()

    def __post_init__(self) -> None:
        check_declared(self)
        check_device(self.device)

    @classmethod
    def of(cls, options: GhostOptions | OnnxOptions | NeuralOptions) -> NeuralOptions:
        """The neural options holding one swapper's own (the other's fields at their defaults)."""
        if isinstance(options, NeuralOptions):
            return options
        return cls(**{f.name: getattr(options, f.name) for f in dataclasses.fields(options)})
