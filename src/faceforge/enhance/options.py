"""The ``--enhance`` steps and their options, declared once (standard library only: the CLI reads these
declarations without loading numpy or onnxruntime)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from faceforge.errors import OptionError
from faceforge.options import check_declared, option

Stage = Literal["face", "frame"]
DEFAULT_BLEND = 0.8  # facefusion's default enhancer blend (80 %)


@dataclass(frozen=True, slots=True)
class EnhanceStep:
    """One parsed ``--enhance`` value: which stage, which model (a catalog name, an ``.onnx`` file or a
    restorer model folder) and how much of its output is kept (0: none, 1: all of it)."""

    stage: Stage
    model: str
    blend: float = DEFAULT_BLEND

    @property
    def label(self) -> str:
        """How the step is named in the provenance tag and in messages."""
        return f"{self.stage}={self.model}:{self.blend:g}"


def parse_step(text: str) -> EnhanceStep:
    """``face=NAME[:BLEND]`` or ``frame=NAME[:BLEND]``; one :class:`OptionError` sentence otherwise.

    A model path may itself hold a colon (``C:\\models``): only a last ``:`` followed by a number is read
    as the blend."""
    stage, sep, rest = text.partition("=")
    if not sep or stage not in ("face", "frame") or not rest:
        raise OptionError(f"--enhance takes face=NAME[:BLEND] or frame=NAME[:BLEND], not '{text}'.")
    model, blend = rest, DEFAULT_BLEND
    head, colon, tail = rest.rpartition(":")
    if colon and head:
        try:
            model, blend = head, float(tail)
        except ValueError:
            model = rest
    if not 0.0 <= blend <= 1.0:
        raise OptionError(f"The blend of --enhance {text} must be between 0 and 1, not {blend:g}.")
    return EnhanceStep(stage, model, blend)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class EnhanceOptions:
    steps: tuple[str, ...] = option(
        (),
        help="Enhancers run after the swap, in this order: face=NAME[:BLEND] on the swapped face, "
        "frame=NAME[:BLEND] on the finished frame (NAME: a catalog name, an .onnx file or a folder from "
        "faceforge train-restorer; BLEND 0-1, default 0.8).",
        flag="--enhance",
    )
    fidelity: float = option(
        0.5,
        help="CodeFormer's fidelity weight: 0 restores most, 1 keeps the input most.",
        min=0.0,
        max=1.0,
        flag="--enhance-fidelity",
    )
    identity_threshold: float = option(
        0.1,
        help="Identity guard: the most a face enhancer may move the face's identity embedding (dlib "
        "distance) from the swapped face before its blend is halved, then dropped; 0 turns the guard off.",
        min=0.0,
        flag="--identity-guard",
    )
    tile: int = option(
        256,
        help="Frame enhancers: the side of the tiles a frame is upscaled in (bounds memory).",
        min=32,
        flag="--enhance-tile",
    )
    device: str = option(
        "auto", help="Where enhancers run: auto, cpu, cuda or cuda:N.", flag="--enhance-device"
    )

    def __post_init__(self) -> None:
        check_declared(self)
        for text in self.steps:
            parse_step(text)

    def parsed_steps(self) -> list[EnhanceStep]:
        return [parse_step(text) for text in self.steps]
