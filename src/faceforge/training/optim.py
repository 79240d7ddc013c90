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

import torch

from faceforge.training.optim_config import OptimiserConfig


def fused_available(device: torch.device) -> bool:
    """Whether torch has fused Adam/AdamW kernels for this device type."""
    try:
        from torch.optim.optimizer import _get_fused_kernels_supported_devices

        return device.type in _get_fused_kernels_supported_devices()
    except ImportError:  # older torch: CUDA only
        return device.type == "cuda"


def build_optimizer(
    params: Iterable[torch.nn.Parameter], config: OptimiserConfig, device: torch.device
) -> torch.optim.Optimizer:
    """The optimiser ``config`` names, over ``params`` living on ``device``."""
    params = [p for p in params if p.requires_grad]
    lr, decay = config.lr, config.weight_decay
    betas = (config.betas[0], config.betas[1])
    if config.name in ("adam", "adamw"):
        fused = fused_available(device) if config.fused is None else config.fused
        kind = torch.optim.Adam if config.name == "adam" else torch.optim.AdamW
        return kind(
            params,
            lr=lr,
            betas=betas,
            eps=config.eps,
            weight_decay=decay,
            fused=True if fused else None,
            foreach=None if fused else True,
        )
    if config.name == "radam":
        return torch.optim.RAdam(params, lr=lr, betas=betas, eps=config.eps, weight_decay=decay, foreach=True)
    from lion_pytorch import Lion

    return Lion(params, lr=lr, betas=betas, weight_decay=decay)


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
    scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]


def clip_gradients(params: Iterable[torch.nn.Parameter], max_norm: float) -> torch.Tensor | None:
    """Clip the global gradient norm to ``max_norm`` (0: off); returns the norm before clipping."""
    if max_norm <= 0:
        return None
    grads = [p for p in params if p.grad is not None]
    return torch.nn.utils.clip_grad_norm_(grads, max_norm, foreach=True)
