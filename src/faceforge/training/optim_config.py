"""The optimiser settings of every trainer (torch-free, so a command's --help and a saved configuration
read them without importing torch); :mod:`faceforge.training.optim` builds the optimiser from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from faceforge.errors import OptionError

OptimiserName = Literal["adam", "adamw", "radam", "lion"]
OPTIMISERS: tuple[OptimiserName, ...] = get_args(OptimiserName)
ScheduleName = Literal["constant", "cosine", "step"]
SCHEDULES: tuple[ScheduleName, ...] = get_args(ScheduleName)


@dataclass(frozen=True, slots=True)
class OptimiserConfig:
    """``clip`` is the maximum global gradient norm (0: no clipping); ``warmup`` the number of iterations
    over which the rate rises linearly from ``lr / warmup`` to ``lr``; ``fused`` forces the fused kernels
    on or off (``None``: use them where torch has them for the device). Lion ignores ``eps`` and wants a
    rate 3-10x smaller than Adam's."""

    name: OptimiserName = "adam"
    lr: float = 5e-5
    betas: tuple[float, float] = (0.5, 0.999)
    eps: float = 1e-7
    weight_decay: float = 0.0
    warmup: int = 0
    clip: float = 0.0
    schedule: ScheduleName = "constant"
    min_lr_ratio: float = 0.1  # cosine: the rate at the last iteration, as a fraction of ``lr``
    step_size: int = 5000  # step: the rate is multiplied by ``step_gamma`` every ``step_size`` iterations
    step_gamma: float = 0.2
    fused: bool | None = None

    def __post_init__(self) -> None:
        if self.name not in OPTIMISERS:
            raise OptionError(f"Unknown optimiser '{self.name}'; choose one of: {', '.join(OPTIMISERS)}.")
        if self.schedule not in SCHEDULES:
            raise OptionError(f"Unknown schedule '{self.schedule}'; choose one of: {', '.join(SCHEDULES)}.")
        if not self.lr > 0:
            raise OptionError(f"The learning rate must be positive, got {self.lr}.")
        if not self.eps > 0:
            raise OptionError(f"Epsilon must be positive, got {self.eps}.")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise OptionError(f"betas must be two numbers in [0, 1), got {self.betas}.")
        if self.weight_decay < 0 or self.warmup < 0 or self.clip < 0:
            raise OptionError("weight decay, warm-up and clipping must not be negative.")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise OptionError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}.")
        if self.step_size < 1 or not 0.0 < self.step_gamma <= 1.0:
            raise OptionError("step_size must be at least 1 and step_gamma in (0, 1].")
