"""Swapper names the CLI and the API accept."""

from __future__ import annotations

from collections.abc import Callable

from faceforge.config import NeuralOptions
from faceforge.swappers.base import Swapper
from faceforge.swappers.mesh import MeshSwapper


def _mesh(options: NeuralOptions) -> Swapper:
    return MeshSwapper()


def _autoencoder(options: NeuralOptions) -> Swapper:
    """A trained pair model. It needs its model folder, so the CLI builds it from --model MODEL_DIR."""
    raise ValueError("The autoencoder swapper needs a trained model: use --model MODEL_DIR.")


def _onnx(options: NeuralOptions) -> Swapper:
    from faceforge.swappers.onnx import OnnxSwapper

    return OnnxSwapper(options)


def _ghost(options: NeuralOptions) -> Swapper:
    from faceforge.swappers.ghost import GhostSwapper

    return GhostSwapper(options)


# Each factory takes the run's NeuralOptions (weights, device, precision); heavy modules import on use.
SWAPPERS: dict[str, Callable[[NeuralOptions], Swapper]] = {
    "mesh": _mesh,
    "autoencoder": _autoencoder,
    "onnx": _onnx,
    "ghost": _ghost,
}


def create_swapper(name: str, options: NeuralOptions | None = None) -> Swapper:
    try:
        factory = SWAPPERS[name]
    except KeyError:
        raise ValueError(f"Unknown swapper '{name}'; choose one of: {', '.join(sorted(SWAPPERS))}.") from None
    return factory(options if options is not None else NeuralOptions())
