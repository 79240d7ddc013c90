"""The configuration of a training run: one versioned, JSON-serialisable object written into MODEL_DIR.

``TrainConfig`` gathers the model layout, the loss, the augmentation and the optimiser with the run's
own knobs (batch, iterations, save/snapshot/preview intervals, AMP, seed, workers). It is written as
indented JSON to ``MODEL_DIR/config.json`` when a run starts and read back when it resumes, so a model
folder always says how it was trained. ``version`` lets later releases migrate older files.

The one-shot configuration (:mod:`faceforge.training.oneshot.config`) shares the torch-free functions
of :mod:`faceforge.training.run_settings`: the checks of the run-loop options, the reading of nested
sections with unknown keys refused, and the refusal of changes a resumed run may not make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faceforge.errors import InputError
from faceforge.nets.autoencoders import ARCHITECTURES, AutoencoderConfig
from faceforge.training.augment import AugmentOptions
from faceforge.training.losses import LossConfig
from faceforge.training.optim_config import OptimiserConfig
from faceforge.training.run_settings import (
    RESUMABLE_RUN_OPTIONS,
    check_run_settings,
    config_from_plain,
    plain_fields,
    resumed_config,
)

CONFIG_FORMAT = "faceforge-train-config"
CONFIG_VERSION = 1
#: Options a resumed run may change (everything else is fixed by the weights or the data order); of the
#: optimiser, the CLI changes only the run-level fields (learning rate, clipping, warm-up, weight decay).
RESUMABLE_CHANGES = (*RESUMABLE_RUN_OPTIONS, "compile", "optimiser")


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
