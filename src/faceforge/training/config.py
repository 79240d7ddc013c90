"""The configuration of a training run: one versioned, JSON-serialisable object written into MODEL_DIR.

``TrainConfig`` gathers the model layout, the loss, the augmentation and the optimiser with the run's
own knobs (batch, iterations, save/snapshot/preview intervals, AMP, seed, workers). It is written as
indented JSON to ``MODEL_DIR/config.json`` when a run starts and read back when it resumes, so a model
folder always says how it was trained. ``version`` lets later releases migrate older files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from faceforge.nets.autoencoders import ARCHITECTURES, AutoencoderConfig
from faceforge.training.augment import AugmentOptions
from faceforge.training.losses import LossConfig
from faceforge.training.optim import OptimiserConfig

CONFIG_FORMAT = "faceforge-train-config"
CONFIG_VERSION = 1
AMP_MODES = ("auto", "off", "fp16", "bf16")

#: Options a resumed run may change (everything else is fixed by the weights or the data order).
RESUMABLE_CHANGES = (
    "iterations",
    "save_every",
    "snapshot_every",
    "keep_snapshots",
    "preview_every",
    "log_every",
    "workers",
    "amp",
    "compile",
)


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and lists as JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict):
            return to_plain(to_dict())
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def _tuples(value: Any) -> Any:
    """JSON lists back to the (nested) tuples frozen dataclasses hold."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def from_plain(cls: type, data: dict[str, Any], what: str) -> Any:
    """The ``cls`` dataclass from its JSON form (its own ``from_dict`` where it has one); keys it does not
    know are refused, naming ``what``."""
    from_dict = getattr(cls, "from_dict", None)
    if callable(from_dict):
        return from_dict(data)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"Unknown {what} settings: {', '.join(unknown)} (written by a newer faceforge?).")
    return cls(**{k: _tuples(v) for k, v in data.items()})


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything a training run needs besides the two facesets and the model folder.

    Intervals are in iterations (one iteration: one batch of A and one of B); 0 turns previews or
    snapshots off. ``amp``: ``auto`` is float16 with a gradient scaler on CUDA (bfloat16 where the GPU
    supports it), bfloat16 on CPUs that compute it natively (AMX, AVX-512 BF16) and off on other CPUs;
    ``bf16`` forces bfloat16 autocast, ``fp16`` float16 with the scaler, ``off`` full float32. ``batch_size`` is per process; DDP multiplies it by the world size.
    """

    model: AutoencoderConfig = field(default_factory=lambda: ARCHITECTURES["original"])
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentOptions = field(default_factory=AugmentOptions)
    optimiser: OptimiserConfig = field(default_factory=OptimiserConfig)
    batch_size: int = 16
    iterations: int = 100_000
    save_every: int = 250
    snapshot_every: int = 5_000
    keep_snapshots: int = 3
    preview_every: int = 250
    preview_count: int = 4
    log_every: int = 10
    amp: str = "auto"
    seed: int = 0
    workers: int = 2
    channels_last: bool = True
    compile: bool = False

    def __post_init__(self) -> None:
        if self.amp not in AMP_MODES:
            raise ValueError(f"Unknown AMP mode '{self.amp}'; choose one of: {', '.join(AMP_MODES)}.")
        if self.batch_size < 1:
            raise ValueError(f"The batch size must be at least 1, got {self.batch_size}.")
        if self.iterations < 0:
            raise ValueError(f"Iterations must not be negative, got {self.iterations}.")
        if self.save_every < 1:
            raise ValueError(f"save_every must be at least 1, got {self.save_every}.")
        for name in ("snapshot_every", "keep_snapshots", "preview_every", "workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}.")
        if self.preview_count < 1 or self.log_every < 1:
            raise ValueError("preview_count and log_every must be at least 1.")

    def to_dict(self) -> dict[str, Any]:
        body = {f.name: to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"format": CONFIG_FORMAT, "version": CONFIG_VERSION, **body}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        if data.pop("format", CONFIG_FORMAT) != CONFIG_FORMAT:
            raise ValueError("This is not a faceforge training configuration.")
        version = int(data.pop("version", CONFIG_VERSION))
        if version > CONFIG_VERSION:
            raise ValueError(
                f"The training configuration is version {version}, newer than this faceforge reads "
                f"({CONFIG_VERSION}); update faceforge."
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown training settings: {', '.join(unknown)}.")
        parts = {
            "model": (AutoencoderConfig, "model"),
            "loss": (LossConfig, "loss"),
            "augment": (AugmentOptions, "augmentation"),
            "optimiser": (OptimiserConfig, "optimiser"),
        }
        for name, (kind, what) in parts.items():
            if name in data:
                data[name] = from_plain(kind, dict(data[name]), what)
        return cls(**data)

    def resumed_with(self, changes: dict[str, Any]) -> TrainConfig:
        """This (stored) configuration with the run-level ``changes`` a resumed run may make."""
        refused = sorted(set(changes) - set(RESUMABLE_CHANGES) - {"optimiser"})
        if refused:
            raise ValueError(
                f"A resumed run cannot change {', '.join(refused)}; train into a new model folder instead."
            )
        return dataclasses.replace(self, **changes)
