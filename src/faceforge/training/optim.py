"""Optimisers and the learning-rate schedule of the trainer, built from an :class:`OptimiserConfig`.

Adam and AdamW use torch's fused kernels where the device has them (CUDA, and CPU since torch 2.4), else
the multi-tensor ``foreach`` path; RAdam uses ``foreach``; Lion comes from the maintained
``lion-pytorch`` package. The schedule is a linear warm-up followed by a constant, cosine-decayed or
stepped rate (``step``: times ``step_gamma`` every ``step_size`` iterations, like torch's ``StepLR``),
expressed as a :class:`~torch.optim.lr_scheduler.LambdaLR` so its state saves and resumes with the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from faceforge.errors import OptionError

OPTIMISERS = ("adam", "adamw", "radam", "lion")
SCHEDULES = ("constant", "cosine", "step")


@dataclass(frozen=True, slots=True)
class OptimiserConfig:
    """``clip`` is the maximum global gradient norm (0: no clipping); ``warmup`` the number of iterations
    over which the rate rises linearly from ``lr / warmup`` to ``lr``; ``fused`` forces the fused kernels
    on or off (``None``: use them where torch has them for the device). Lion ignores ``eps`` and wants a
    rate 3-10x smaller than Adam's."""

    name: str = "adam"
    lr: float = 5e-5
    betas: tuple[float, float] = (0.5, 0.999)
    eps: float = 1e-7
    weight_decay: float = 0.0
    warmup: int = 0
    clip: float = 0.0
    schedule: str = "constant"
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


def fused_available(device: torch.device) -> bool:
    """Whether torch has fused Adam/AdamW kernels for this device type."""
    try:
        from torch.optim.optimizer import _get_fused_kernels_supported_devices  # type: ignore[attr-defined]

        return device.type in _get_fused_kernels_supported_devices()
    except ImportError:  # older torch: CUDA only
        return device.type == "cuda"


def build_optimizer(
    params: Iterable[torch.nn.Parameter], config: OptimiserConfig, device: torch.device
) -> torch.optim.Optimizer:
    """The optimiser ``config`` names, over ``params`` living on ``device``."""
    params = [p for p in params if p.requires_grad]
    common = {"lr": config.lr, "betas": tuple(config.betas), "weight_decay": config.weight_decay}
    if config.name in ("adam", "adamw"):
        fused = fused_available(device) if config.fused is None else config.fused
        kind = torch.optim.Adam if config.name == "adam" else torch.optim.AdamW
        speed = {"fused": True} if fused else {"foreach": True}
        return kind(params, eps=config.eps, **common, **speed)
    if config.name == "radam":
        return torch.optim.RAdam(params, eps=config.eps, foreach=True, **common)
    from lion_pytorch import Lion

    return Lion(params, **common)


def lr_factor(iteration: int, config: OptimiserConfig, total: int) -> float:
    """The multiplier of ``config.lr`` at ``iteration`` (counted from 0)."""
    if config.warmup and iteration < config.warmup:
        return (iteration + 1) / config.warmup
    if config.schedule == "cosine" and total > config.warmup:
        progress = min(1.0, (iteration - config.warmup) / max(1, total - 1 - config.warmup))
        low = config.min_lr_ratio
        return low + (1.0 - low) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if config.schedule == "step":
        return config.step_gamma ** ((iteration - config.warmup) // config.step_size)
    return 1.0


class _Factor:
    """A picklable schedule function (``LambdaLR`` saves its attributes, not the function)."""

    def __init__(self, config: OptimiserConfig, total: int) -> None:
        self.config, self.total = config, total

    def __call__(self, iteration: int) -> float:
        return lr_factor(iteration, self.config, self.total)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: OptimiserConfig, total_iterations: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up then constant or cosine; step it once per iteration, after the optimiser."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _Factor(config, total_iterations))


def scheduler_state(scheduler: torch.optim.lr_scheduler.LambdaLR) -> dict[str, object]:
    """The scheduler's state with primitives only (the schedule itself is rebuilt from the config)."""
    state = scheduler.state_dict()
    state["lr_lambdas"] = [None] * len(state.get("lr_lambdas", []))
    return state


def load_scheduler_state(scheduler: torch.optim.lr_scheduler.LambdaLR, state: dict[str, object]) -> None:
    state = dict(state)
    state.pop("lr_lambdas", None)
    scheduler.__dict__.update(state)


def follow_run_rate(
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
    config: OptimiserConfig,
    iteration: int,
    total: int,
) -> None:
    """After loading a saved optimiser and schedule: its hyper-parameters (rate, weight decay, betas,
    epsilon) follow this run's settings, so a resumed run may change them (lower the rate after a
    rollback, say) and what config.json records is what the optimiser uses. Its moment estimates stay."""
    scheduler.base_lrs = [config.lr for _ in optimizer.param_groups]
    for group in optimizer.param_groups:
        group["lr"] = config.lr * lr_factor(iteration, config, total)
        group["weight_decay"] = config.weight_decay
        group["betas"] = tuple(config.betas)
        if "eps" in group:  # Lion has none
            group["eps"] = config.eps
    scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]  # type: ignore[attr-defined]


def clip_gradients(params: Iterable[torch.nn.Parameter], max_norm: float) -> torch.Tensor | None:
    """Clip the global gradient norm to ``max_norm`` (0: off); returns the norm before clipping."""
    if max_norm <= 0:
        return None
    grads = [p for p in params if p.grad is not None]
    return torch.nn.utils.clip_grad_norm_(grads, max_norm, foreach=True)
