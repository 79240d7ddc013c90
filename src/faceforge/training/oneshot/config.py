"""The configuration of a one-shot training run (GHOST's AEI-Net recipe), declared once.

Defaults are GHOST's (``train.py`` at ``ea23cce``): AEI-Net U-Net with 2 AAD blocks, pix2pixHD's
multi-scale discriminator (3 scales, 5 layers, 64 filters), Adam at 4e-4 with betas (0, 0.999) and weight
decay 1e-4 for both networks, loss weights adv 1, attr 10, id 20, rec 10, eyes 0, same-person share 0.2,
colour jitter (0.2, 0.2, 0.2, 0.01). Two departures, both because this runs offline: the identity encoder
defaults to dlib's ResNet (128-d; ArcFace when the user has its weights), and the generator's ``c_id``
follows the encoder's size. The CLI reads its defaults from :data:`DEFAULTS`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from faceforge.errors import OptionError
from faceforge.nets.aeinet_config import AEINetConfig
from faceforge.training.optim_config import OptimiserConfig
from faceforge.training.run_settings import (
    RESUMABLE_RUN_OPTIONS,
    check_run_settings,
    config_from_plain,
    plain_fields,
    resumed_config,
)

IDENTITY_DIMS = {"dlib": 128, "arcface": 512}  # the embedding size of each crop identity encoder

#: Options a resumed run may change; the rest (:data:`FIXED_SETTINGS`) are fixed.
RESUMABLE_CHANGES = (*RESUMABLE_RUN_OPTIONS, "stage2_at", "losses", "discr_force", "optimiser")


@dataclass(frozen=True, slots=True)
class DiscriminatorConfig:
    """pix2pixHD's multi-scale PatchGAN: ``num_d`` scales of ``n_layers`` strided convolutions."""

    ndf: int = 64
    n_layers: int = 5
    num_d: int = 3

    def __post_init__(self) -> None:
        if min(self.ndf, self.n_layers, self.num_d) < 1:
            raise OptionError("The discriminator's ndf, n_layers and num_d must all be at least 1.")


@dataclass(frozen=True, slots=True)
class LossWeights:
    """Weights of the generator's losses (see :mod:`faceforge.training.oneshot.losses`).

    ``eyes`` applies from stage 2 on (``OneshotConfig.stage2_at``). ``distill`` and ``distill_features``
    apply only with a teacher. A weight of 0 skips its term's computation (``adv`` 0 also skips the
    discriminator).
    """

    adv: float = 1.0
    attr: float = 10.0
    id: float = 20.0
    rec: float = 10.0
    eyes: float = 0.0
    distill: float = 10.0
    distill_features: float = 5.0

    def __post_init__(self) -> None:
        negative = [f.name for f in dataclasses.fields(self) if getattr(self, f.name) < 0]
        if negative:
            raise OptionError(f"Loss weights must not be negative: {', '.join(negative)}.")


def _ghost_adam() -> OptimiserConfig:
    return OptimiserConfig(name="adam", lr=4e-4, betas=(0.0, 0.999), eps=1e-8, weight_decay=1e-4)


@dataclass(frozen=True, slots=True)
class OneshotConfig:
    """Everything a one-shot run needs besides the dataset and the model folder.

    ``identity``: the frozen crop identity encoder (``dlib`` or ``arcface``, whose weights
    ``identity_weights`` names); its size must equal ``generator.c_id``. ``stage2_at``: stage 1 runs until
    this iteration with the eye loss off, stage 2 after it with ``losses.eyes`` (0: stage 2 from the start).
    ``discr_force``: GHOST's rule that skips the discriminator's step while an average of the adversarial
    loss stays at 4 or more. ``same_person``: share of pairs whose target is the source's own identity.
    ``min_size``: dataset images whose shorter side is smaller are left out. ``jitter``: colour jitter
    (brightness, contrast, saturation, hue), drawn independently for each image of a pair. ``teacher``: a
    generator to distil (a weight file, a catalog name or a train-oneshot folder). ``optimiser`` serves
    both networks; ``amp`` and the intervals mean what they mean for ``faceforge train``; ``batch_size``
    is per process.
    """

    generator: AEINetConfig = field(default_factory=lambda: AEINetConfig(c_id=IDENTITY_DIMS["dlib"]))
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    identity: str = "dlib"
    identity_weights: str | None = None
    losses: LossWeights = field(default_factory=LossWeights)
    optimiser: OptimiserConfig = field(default_factory=_ghost_adam)
    stage2_at: int = 0
    discr_force: bool = False
    same_person: float = 0.2
    min_size: int = 128
    jitter: tuple[float, float, float, float] = (0.2, 0.2, 0.2, 0.01)
    teacher: str | None = None
    batch_size: int = 16
    iterations: int = 200_000
    save_every: int = 1_000
    snapshot_every: int = 5_000
    keep_snapshots: int = 3
    preview_every: int = 500
    preview_count: int = 4
    log_every: int = 10
    amp: str = "auto"
    seed: int = 0
    workers: int = 4

    def __post_init__(self) -> None:
        if self.identity not in IDENTITY_DIMS:
            raise OptionError(
                f"Unknown identity encoder '{self.identity}'; choose one of: {', '.join(IDENTITY_DIMS)}."
            )
        if self.generator.c_id != IDENTITY_DIMS[self.identity]:
            raise OptionError(
                f"The {self.identity} identity encoder gives {IDENTITY_DIMS[self.identity]}-d vectors, "
                f"but the generator takes {self.generator.c_id}-d ones."
            )
        check_run_settings(self, also_non_negative=("stage2_at", "min_size"))
        if not 0.0 <= self.same_person <= 1.0:
            raise OptionError(f"same_person is a probability, got {self.same_person}.")
        if len(self.jitter) != 4 or min(self.jitter) < 0 or self.jitter[3] > 0.5:
            raise OptionError("jitter takes four non-negative numbers (hue at most 0.5).")

    def stage_at(self, iterations_done: int) -> int:
        """The stage of the iteration after ``iterations_done``: 1 before ``stage2_at``, then 2."""
        return 2 if iterations_done >= self.stage2_at else 1

    def to_dict(self) -> dict[str, Any]:
        return plain_fields(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OneshotConfig:
        sections = {
            "generator": (AEINetConfig, "generator"),
            "discriminator": (DiscriminatorConfig, "discriminator"),
            "losses": (LossWeights, "loss weight"),
            "optimiser": (OptimiserConfig, "optimiser"),
        }
        return config_from_plain(cls, data, sections, "one-shot training")

    def resumed_with(self, changes: dict[str, Any]) -> OneshotConfig:
        """This (stored) configuration with the run-level ``changes`` a resumed run may make."""
        return resumed_config(self, changes, RESUMABLE_CHANGES)


#: Options a resumed run must keep (every other one): fixed by the weights, the data order or the teacher.
FIXED_SETTINGS = tuple(f.name for f in dataclasses.fields(OneshotConfig) if f.name not in RESUMABLE_CHANGES)

#: The defaults the CLI shows and uses.
DEFAULTS = OneshotConfig()
