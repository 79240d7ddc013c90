"""The configuration of a training run: one versioned, JSON-serialisable object written into MODEL_DIR.

``TrainConfig`` gathers the model layout, the loss, the augmentation and the optimiser with the run's
own knobs (batch, iterations, save/snapshot/preview intervals, AMP, seed, workers). It is written as
indented JSON to ``MODEL_DIR/config.json`` when a run starts and read back when it resumes, so a model
folder always says how it was trained. ``version`` lets later releases migrate older files.

The one-shot configuration (:mod:`faceforge.training.oneshot.config`) shares the functions here: the
checks of the run-loop options, the reading of nested sections with unknown keys refused, and the refusal
of changes a resumed run may not make.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from faceforge.errors import InputError, OptionError
from faceforge.nets.autoencoders import ARCHITECTURES, AutoencoderConfig
from faceforge.settings_io import refuse_unknown_keys
from faceforge.training.augment import AugmentOptions
from faceforge.training.losses import LossConfig
from faceforge.training.optim import OptimiserConfig

CONFIG_FORMAT = "faceforge-train-config"
CONFIG_VERSION = 1
AMP_MODES = ("auto", "off", "fp16", "bf16")

#: The run-loop options of every trainer's configuration that a resumed run may change.
RESUMABLE_RUN_OPTIONS = (
    "iterations",
    "save_every",
    "snapshot_every",
    "keep_snapshots",
    "preview_every",
    "log_every",
    "workers",
    "amp",
)

#: Options a resumed run may change (everything else is fixed by the weights or the data order); of the
#: optimiser, the CLI changes only the run-level fields (learning rate, clipping, warm-up, weight decay).
RESUMABLE_CHANGES = (*RESUMABLE_RUN_OPTIONS, "compile", "optimiser")

_Config = TypeVar("_Config")


def plain_fields(value: Any) -> dict[str, Any]:
    """The fields of the dataclass instance ``value`` as a JSON-ready dict (nested ones included)."""
    return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and lists as JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict):
            return to_plain(to_dict())
        return plain_fields(value)
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
    refuse_unknown_keys(cls, data, what)
    return cls(**{k: _tuples(v) for k, v in data.items()})


def config_from_plain(
    cls: type[_Config], data: Mapping[str, Any], sections: Mapping[str, tuple[type, str]], what: str
) -> _Config:
    """A trainer's configuration ``cls`` from its JSON form: keys it does not know are refused (naming
    ``what``); each of ``sections`` (field -> its dataclass and the name its errors use) is read with
    :func:`from_plain`, and JSON lists of the other fields become tuples."""
    refuse_unknown_keys(cls, data, what)
    values = {}
    for name, value in data.items():
        if name in sections:
            kind, section = sections[name]
            values[name] = from_plain(kind, dict(value), section)
        else:
            values[name] = _tuples(value)
    return cls(**values)


def check_run_settings(config: Any, also_non_negative: Iterable[str] = ()) -> None:
    """The checks of the run-loop options every trainer's configuration has (AMP mode, batch size,
    iterations, save, snapshot, preview and log intervals, workers), and that ``also_non_negative`` of its
    own fields are not negative; a ``ValueError`` names the first option out of range."""
    if config.amp not in AMP_MODES:
        raise OptionError(f"Unknown AMP mode '{config.amp}'; choose one of: {', '.join(AMP_MODES)}.")
    for name in ("batch_size", "save_every", "preview_count", "log_every"):
        if getattr(config, name) < 1:
            raise OptionError(f"{name} must be at least 1, got {getattr(config, name)}.")
    non_negative = ("iterations", "snapshot_every", "keep_snapshots", "preview_every", "workers")
    for name in (*non_negative, *also_non_negative):
        if getattr(config, name) < 0:
            raise OptionError(f"{name} must not be negative, got {getattr(config, name)}.")


def resumed_config(config: _Config, changes: Mapping[str, Any], resumable: Iterable[str]) -> _Config:
    """The stored ``config`` with the ``changes`` a resumed run makes; a change of an option not in
    ``resumable`` is refused."""
    refused = sorted(set(changes) - set(resumable))
    if refused:
        raise OptionError(
            f"A resumed run cannot change {', '.join(refused)}; train into a new model folder instead."
        )
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything a training run needs besides the two facesets and the model folder.

    Intervals are in iterations (one iteration: one batch of A and one of B); 0 turns previews or
    snapshots off. ``amp``: ``auto`` is float16 with a gradient scaler on CUDA (bfloat16 where the GPU
    supports it), bfloat16 on CPUs that compute it natively (AMX, AVX-512 BF16) and off on other CPUs;
    ``bf16`` forces bfloat16 autocast, ``fp16`` float16 with the scaler, ``off`` full float32.
    ``batch_size`` is per process; DDP multiplies it by the world size.
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
        check_run_settings(self)

    def to_dict(self) -> dict[str, Any]:
        return {"format": CONFIG_FORMAT, "version": CONFIG_VERSION, **plain_fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        if data.pop("format", CONFIG_FORMAT) != CONFIG_FORMAT:
            raise InputError("This is not a faceforge training configuration.")
        version = int(data.pop("version", CONFIG_VERSION))
        if version > CONFIG_VERSION:
            raise InputError(
                f"The training configuration is version {version}, newer than this faceforge reads "
                f"({CONFIG_VERSION}); update faceforge."
            )
        sections = {
            "model": (AutoencoderConfig, "model"),
            "loss": (LossConfig, "loss"),
            "augment": (AugmentOptions, "augmentation"),
            "optimiser": (OptimiserConfig, "optimiser"),
        }
        return config_from_plain(cls, data, sections, "training")

    def resumed_with(self, changes: dict[str, Any]) -> TrainConfig:
        """This (stored) configuration with the run-level ``changes`` a resumed run may make."""
        return resumed_config(self, changes, RESUMABLE_CHANGES)
