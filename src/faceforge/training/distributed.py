"""Data-parallel training across processes started by ``torchrun`` (or any launcher that sets its env).

``torchrun --nproc-per-node=N -m faceforge train ...`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them (from a mapping passed in, not
from a global) and joins the process group: NCCL when the process has a GPU, gloo on CPU. Each rank
trains on its own shard of every batch; DDP averages the gradients, so N ranks with batch B each match
one process with batch N*B. Only rank 0 writes checkpoints, previews and logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from faceforge.errors import OptionError
from faceforge.options import check_device

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True, slots=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # None: a single process, no process group

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def context_from_env(env: Mapping[str, str]) -> DistContext:
    """The ranks torchrun describes in ``env``, without joining anything (a single process if unset)."""
    world = int(env.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    missing = [name for name in _ENV if name not in env]
    if missing:
        raise OptionError(
            f"Distributed training needs the variables torchrun sets; missing: {', '.join(missing)}."
        )
    rank, local = int(env["RANK"]), int(env["LOCAL_RANK"])
    if not 0 <= rank < world:
        raise OptionError(f"RANK={rank} is outside WORLD_SIZE={world}.")
    return DistContext(rank, world, local, "nccl" if torch.cuda.is_available() else "gloo")


def init_distributed(env: Mapping[str, str] | None = None, timeout_s: float = 1800.0) -> DistContext:
    """Join the process group described by ``env`` (default: this process's environment)."""
    ctx = context_from_env(os.environ if env is None else env)
    if not ctx.distributed:
        return ctx
    if ctx.backend == "nccl":
        torch.cuda.set_device(ctx.local_rank)
    if not dist.is_initialized():
        source = os.environ if env is None else env
        dist.init_process_group(
            ctx.backend,
            init_method=f"tcp://{source['MASTER_ADDR']}:{source['MASTER_PORT']}",
            rank=ctx.rank,
            world_size=ctx.world_size,
            timeout=timedelta(seconds=timeout_s),
        )
    return ctx


def shutdown(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def checked_device(requested: str | None, key: str = "--device") -> torch.device | None:
    """A training command's ``--device``: spelled as :func:`faceforge.options.check_device` says (the one
    device parser, which NeuralOptions uses too) and present on this machine, else an OptionError
    sentence (exit 2). None for the default (``auto`` or not given)."""
    if requested is None or requested == "auto":
        return None
    check_device(requested, key)
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionError(
                f"Option {key} asks for '{requested}', but this PyTorch has no CUDA or sees no GPU; "
                f"use {key} cpu, or leave {key} out to use a GPU only when there is one."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise OptionError(
                f"Option {key} asks for '{requested}', but this machine has "
                f"{torch.cuda.device_count()} GPU(s), numbered from 0."
            )
    return device


def device_for(ctx: DistContext, requested: str | None = None) -> torch.device:
    """The device this rank trains on: its own GPU under NCCL, else ``requested`` (checked by
    :func:`checked_device`) or the best available."""
    if ctx.backend == "nccl":
        return torch.device("cuda", ctx.local_rank)
    device = checked_device(requested)
    if device is not None:
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def wrap(module: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """``module`` in DDP when distributed (gradients averaged over ranks during backward)."""
    if not ctx.distributed:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def mean_over_ranks(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """The mean of ``values`` over all ranks (for logging the same losses on every rank)."""
    if not ctx.distributed:
        return values
    values = values.detach().clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / ctx.world_size


def any_rank(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any (to stop all ranks together)."""
    if not ctx.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()
