"""The trainer of swap autoencoders: one shared encoder, a decoder per person, two facesets.

One iteration takes a batch of A and a batch of B, reconstructs each through its own side in a single
forward pass (so DDP sees one graph), adds the two losses and steps the optimiser. The loop around it
(saves, snapshots, NaN stop, signals, previews, logging, AMP) is :class:`~faceforge.training.loop.
LoopTrainer`'s. A run started on a folder that holds a checkpoint resumes exactly where it stopped:
weights, optimiser, schedule, AMP scaler, RNG and the position in both data streams (so N + M iterations
equal N+M uninterrupted); ``rollback=True`` restarts from the newest snapshot. DDP:
:mod:`faceforge.training.distributed`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from torch import Tensor

from faceforge.errors import InputError
from faceforge.nets.autoencoders import AutoencoderConfig, SwapAutoencoder, build_autoencoder
from faceforge.nets.layout import to_device
from faceforge.training.batches import BatchStream, safe_workers
from faceforge.training.config import TrainConfig
from faceforge.training.data import FacesetDataset, make_loader
from faceforge.training.distributed import DistContext, wrap
from faceforge.training.loop import (
    LoopTrainer,
    NonFiniteLossError,
    TrainHooks,
    TrainReport,
    resolve_amp,
)
from faceforge.training.losses import swap_loss
from faceforge.training.optim import (
    build_optimizer,
    build_scheduler,
    clip_gradients,
    follow_run_rate,
    load_scheduler_state,
    scheduler_state,
)
from faceforge.training.preview import fixed_samples, render_preview

__all__ = [
    "NonFiniteLossError",
    "PairModel",
    "TrainHooks",
    "TrainReport",
    "Trainer",
    "build_model",
    "resolve_amp",
]

STATE_FORMAT = "faceforge-train-state"
STATE_VERSION = 1
_KEYS = ("input", "target", "mask", "weight", "eyes", "mouth")


class PairModel(torch.nn.Module):
    """Both sides in one forward pass: ``(rgb_a, mask_a), (rgb_b, mask_b)``. DDP wraps this, so every
    parameter (encoder, both decoders or intermediates) takes part in the one graph it reduces."""

    def __init__(self, model: SwapAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, xa: Tensor, xb: Tensor) -> tuple[tuple[Tensor, Tensor | None], ...]:
        return self.model(xa, "a"), self.model(xb, "b")


def build_model(config: AutoencoderConfig, seed: int) -> SwapAutoencoder:
    """A freshly initialised model; the initialisation depends on ``seed`` only (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_autoencoder(config)


class Trainer(LoopTrainer):
    """Trains ``config.model`` on facesets A and B into ``model_dir`` (resuming what is there).

    ``ctx`` describes the DDP ranks (:func:`~faceforge.training.distributed.init_distributed`); ``device``
    defaults to CUDA when present. ``rollback`` restarts from the newest snapshot instead of the latest
    save. ``console`` gets the progress lines (rank 0; None: quiet). ``tensorboard`` writes
    ``MODEL_DIR/logs``.
    """

    def __init__(
        self,
        config: TrainConfig,
        faceset_a: Path,
        faceset_b: Path,
        model_dir: Path,
        *,
        device: torch.device | str | None = None,
        ctx: DistContext | None = None,
        rollback: bool = False,
        console: Console | None = None,
        tensorboard: bool = True,
        hooks: TrainHooks | None = None,
    ) -> None:
        super().__init__(config, model_dir, device=device, ctx=ctx, console=console, hooks=hooks)
        self.config: TrainConfig = config
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format

        resume = self.open_saved_run(rollback)

        self.model = to_device(build_model(config.model, config.seed), self.device, self.memory_format)
        weights, state = self.store.load("latest") if resume else (None, None)
        if weights is not None:
            self.model.load_state_dict(weights)
        self.pair = PairModel(self.model)
        self.module: torch.nn.Module = wrap(self.pair, self.ctx, self.device)
        if config.compile:
            self.module = torch.compile(self.module)  # type: ignore[assignment]
        self.optimizer = build_optimizer(self.model.parameters(), config.optimiser, self.device)
        self.scheduler = build_scheduler(self.optimizer, config.optimiser, config.iterations)
        data_state = {"a": {"epoch": 0, "batch": 0}, "b": {"epoch": 0, "batch": 0}}
        if state is not None:
            self._load_state(state)
            data_state = state["data"]

        opts, model_cfg = config.augment, config.model
        sizes = (model_cfg.input_size, model_cfg.output_size)
        warp = opts.warp_to_landmarks > 0
        self.datasets = {
            "a": FacesetDataset(
                faceset_a, *sizes, opts, config.seed, warp_towards=faceset_b if warp else None
            ),
            "b": FacesetDataset(
                faceset_b, *sizes, opts, config.seed + 1, warp_towards=faceset_a if warp else None
            ),
        }
        ctx = self.ctx
        self.streams = {
            side: BatchStream(
                safe_workers(
                    make_loader(
                        dataset, config.batch_size, config.workers, config.seed + i, ctx.rank, ctx.world_size
                    )
                ),
                **data_state[side],
            )
            for i, (side, dataset) in enumerate(self.datasets.items())
        }
        self.preview_samples = None
        if self.ctx.is_main and config.preview_every:
            self.preview_samples = {
                side: fixed_samples(
                    FacesetDataset(path, *sizes, opts, config.seed, training=False), config.preview_count
                )
                for side, path in (("a", faceset_a), ("b", faceset_b))
            }
        self.open_writer(tensorboard)
        self.last_save = self.iteration if resume else None

    # -- state -----------------------------------------------------------------------------------------

    def check_stored_settings(self) -> None:
        stored = self.store.read_config().get("model")
        if stored is not None and AutoencoderConfig.from_dict(stored) != self.config.model:
            raise InputError(
                f"{self.model_dir} holds a model of another layout ('{stored.get('arch')}', "
                f"{stored.get('input_size')} px); train into a new folder, "
                "or resume it with its own settings."
            )

    def training_state(self) -> dict[str, Any]:
        """Everything besides the weights that an exact resume needs (tensors and plain containers)."""
        return {
            **self.loop_state(STATE_FORMAT, STATE_VERSION),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": scheduler_state(self.scheduler),
            "data": {side: stream.state() for side, stream in self.streams.items()},
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.restore_loop_state(state, STATE_FORMAT, STATE_VERSION)
        self.optimizer.load_state_dict(state["optimizer"])
        load_scheduler_state(self.scheduler, state["scheduler"])
        follow_run_rate(
            self.optimizer, self.scheduler, self.config.optimiser, self.iteration, self.config.iterations
        )

    def write_config(self) -> None:
        self.store.write_config(self.config.to_dict())

    def checkpoint(self) -> tuple[dict[str, Tensor], dict[str, Any], dict[str, str]]:
        meta = {"model_config": json.dumps(self.config.model.to_dict())}
        return self.model.state_dict(), self.training_state(), meta

    # -- one step --------------------------------------------------------------------------------------

    def _to_device(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        out = {}
        for key in _KEYS:
            value = batch[key].to(self.device, non_blocking=True)
            out[key] = value.contiguous(memory_format=self.memory_format) if key == "input" else value
        return out

    def _losses(
        self, batch_a: dict[str, Tensor], batch_b: dict[str, Tensor]
    ) -> tuple[Tensor, dict[str, float], dict[str, float]]:
        with self.autocast():
            (rgb_a, mask_a), (rgb_b, mask_b) = self.module(batch_a["input"], batch_b["input"])
        loss_cfg = self.config.loss
        as_float = lambda t: None if t is None else t.float()  # noqa: E731
        loss_a, parts_a = swap_loss(rgb_a.float(), as_float(mask_a), batch_a, loss_cfg)
        loss_b, parts_b = swap_loss(rgb_b.float(), as_float(mask_b), batch_b, loss_cfg)
        return loss_a + loss_b, parts_a, parts_b

    def compute_gradients(self, batch_a: dict[str, Tensor], batch_b: dict[str, Tensor]) -> dict[str, Tensor]:
        """Forward and backward on one batch without stepping: the (rank-averaged) gradients by name."""
        self.optimizer.zero_grad(set_to_none=True)
        loss, _, _ = self._losses(self._to_device(batch_a), self._to_device(batch_b))
        loss.backward()
        return {
            name: p.grad.detach().clone() for name, p in self.model.named_parameters() if p.grad is not None
        }

    def step(self, batch_a: dict[str, Tensor], batch_b: dict[str, Tensor]) -> dict[str, float]:
        """One optimisation step. Raises :class:`NonFiniteLossError` (weights untouched) on NaN or inf."""
        loss, parts_a, parts_b = self._losses(self._to_device(batch_a), self._to_device(batch_b))
        if self.hooks.loss is not None:
            loss = self.hooks.loss(self.iteration + 1, loss)
        value = float(loss.detach())
        self.check_finite(value)
        self.scaler.scale(loss).backward()
        if self.config.optimiser.clip > 0:
            self.scaler.unscale_(self.optimizer)
            clip_gradients(self.model.parameters(), self.config.optimiser.clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.iteration += 1
        losses = {"total": value, "a": parts_a["total"], "b": parts_b["total"]}
        for name in parts_a:
            if name != "total":
                losses[f"{name}"] = (parts_a[name] + parts_b[name]) / 2.0
        return losses

    # -- what the loop calls -----------------------------------------------------------------------------

    @property
    def examples_per_iteration(self) -> int:
        return 2 * self.config.batch_size * self.ctx.world_size

    def train_step(self) -> dict[str, float]:
        return self.step(next(self.streams["a"]), next(self.streams["b"]))

    def train_mode(self) -> None:
        self.model.train()

    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def render_preview(self) -> np.ndarray:
        if self.preview_samples is None:
            raise RuntimeError("No preview samples: previews are off or this is not the main process.")
        return render_preview(self.model, self.preview_samples["a"], self.preview_samples["b"], self.device)

    def console_line(self, means: dict[str, float], rate: float, lr: float) -> str:
        parts = " ".join(f"{k} {v:.4f}" for k, v in means.items() if k not in ("total", "a", "b"))
        return (
            f"[bold]{self.iteration:>8}[/]  loss A {means['a']:.4f}  B {means['b']:.4f}  "
            f"[dim]({parts})[/]  {rate:6.1f} ex/s  lr {lr:.2e}"
        )
