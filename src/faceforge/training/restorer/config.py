"""The settings of one ``faceforge train-restorer`` run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from faceforge.enhance.restorer_shape import RestorerShape
from faceforge.errors import OptionError
from faceforge.training.optim_config import OptimiserConfig
from faceforge.training.restorer.degrade import DegradeRecipe


@dataclass(frozen=True, slots=True)
class RestorerConfig:
    net: RestorerShape = field(default_factory=RestorerShape)
    recipe: DegradeRecipe = field(default_factory=DegradeRecipe)
    optimiser: OptimiserConfig = field(
        default_factory=lambda: OptimiserConfig(lr=2e-4, betas=(0.9, 0.99), warmup=50)
    )
    size: int = 0  # training crop side (0: the faceset's own)
    holdout: int = 0  # faces of the faceset kept out of training (for measuring on unseen faces)
    ssim_weight: float = 0.5  # the loss: L1 + ssim_weight * (1 - SSIM) / 2 (0: L1 alone, faster)
    batch_size: int = 8
    iterations: int = 20000
    save_every: int = 500
    snapshot_every: int = 5000
    keep_snapshots: int = 3
    preview_every: int = 500
    log_every: int = 50
    amp: str = "auto"
    seed: int = 0
    workers: int = 2

    def __post_init__(self) -> None:
        if self.size and (self.size < 16 or self.size % 2):
            raise OptionError(f"The restorer trains on even crop sides of 16 px or more, not {self.size}.")
        if self.net.width < 1 or self.net.blocks < 0:
            raise OptionError("The restorer needs a width of at least 1 and no negative number of blocks.")
        if self.batch_size < 1 or self.iterations < 0 or self.save_every < 1 or self.log_every < 1:
            raise OptionError("The batch size and the save and log intervals must be at least 1.")
        if self.holdout < 0:
            raise OptionError(f"The number of held-out faces cannot be negative ({self.holdout}).")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
