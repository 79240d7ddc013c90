"""Swapper names the CLI and the API accept: the built-ins, those registered at run time with
:func:`register_swapper`, and third-party ones from the ``faceforge.swappers`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from faceforge.errors import OptionError
from faceforge.plugins import Registry
from faceforge.swappers.base import Swapper
from faceforge.swappers.neural_options import GhostOptions, NeuralOptions, OnnxOptions

SwapperFactory = Callable[[Any], Swapper]


@dataclass(frozen=True, slots=True)
class SwapperEntry:
    """How to build one swapper: ``factory(options)`` with an instance of ``options`` (the swapper's own
    options dataclass, whose declared fields the CLI and config files read), or with None when the
    swapper has no options. ``options`` may be named as ``"module:Class"``, imported only when the
    options are asked for. Heavy modules (torch, onnxruntime) belong inside the factory."""

    factory: SwapperFactory
    options: type | str | None = None

    @property
    def options_type(self) -> type | None:
        if isinstance(self.options, str):
            module, _, name = self.options.partition(":")
            found: type = getattr(import_module(module), name)
            return found
        return self.options


def _entry(name: str, loaded: object) -> SwapperEntry:
    """What a ``faceforge.swappers`` entry point loads: a :class:`SwapperEntry`, or a bare factory."""
    if isinstance(loaded, SwapperEntry):
        return loaded
    if callable(loaded):
        return SwapperEntry(loaded)
    raise TypeError(f"expected a SwapperEntry or a factory, got {type(loaded).__name__}")


def _mesh(options: Any) -> Swapper:
    from faceforge.swappers.mesh import MeshSwapper

    return MeshSwapper(options)


def _autoencoder(options: object) -> Swapper:
    """A trained pair model. It needs its model folder, so the CLI builds it from --model MODEL_DIR."""
    raise OptionError("The autoencoder swapper needs a trained model: use --model MODEL_DIR.")


def _onnx(options: OnnxOptions | NeuralOptions) -> Swapper:
    from faceforge.swappers.onnx import OnnxSwapper

    return OnnxSwapper(NeuralOptions.of(options))


def _ghost(options: GhostOptions | NeuralOptions) -> Swapper:
    from faceforge.swappers.ghost import GhostSwapper

    return GhostSwapper(NeuralOptions.of(options))


def _diffusion(options: Any) -> Swapper:
    from faceforge.swappers.diffusion import DiffusionSwapper

    return DiffusionSwapper(options)


def _builtins() -> Registry[SwapperEntry]:
    registry: Registry[SwapperEntry] = Registry("swapper", "faceforge.swappers", _entry)
    registry.register("mesh", SwapperEntry(_mesh, "faceforge.swappers.mesh_options:MeshSwapOptions"))
    registry.register("autoencoder", SwapperEntry(_autoencoder))
    registry.register("onnx", SwapperEntry(_onnx, OnnxOptions))
    registry.register("ghost", SwapperEntry(_ghost, GhostOptions))
    registry.register(
        "diffusion", SwapperEntry(_diffusion, "faceforge.diffusion.options:DiffusionSwapOptions")
    )
    return registry


SWAPPERS = _builtins()


def register_swapper(name: str, factory: SwapperFactory, options: type | str | None = None) -> None:
    """Make ``factory`` available as ``--swapper name`` (see :class:`SwapperEntry`)."""
    SWAPPERS.register(name, SwapperEntry(factory, options))


def unregister_swapper(name: str) -> None:
    SWAPPERS.unregister(name)


def registered_swapper(
    name: str, factory: SwapperFactory, options: type | str | None = None
) -> AbstractContextManager[SwapperEntry]:
    """``factory`` registered as ``name`` for a ``with`` block (tests), removed afterwards."""
    return SWAPPERS.registered(name, SwapperEntry(factory, options))


def swapper_names() -> list[str]:
    return SWAPPERS.names()


def swapper_options(name: str) -> type | None:
    """The options dataclass of swapper ``name`` (None when it has none)."""
    return SWAPPERS.get(name).options_type


def create_swapper(name: str, options: object | None = None) -> Swapper:
    """Build swapper ``name`` with ``options`` (an instance of its options dataclass; defaults when None)."""
    entry = SWAPPERS.get(name)
    kind = entry.options_type
    if options is None and kind is not None:
        options = kind()
    return entry.factory(options)
