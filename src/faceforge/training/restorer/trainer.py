"""The restorer's trainer: :class:`~faceforge.training.loop.LoopTrainer` (saves, snapshots, resume, AMP,
DDP, the NaN stop, signals, previews) around one network and an L1 + SSIM loss on (degraded, clean)
pairs of a faceset's crops.

The model folder's ``config.json`` says what inference needs (:mod:`faceforge.enhance.restorer`): the
network's shape and the crop (template and side) it was trained on. A run resumes exactly: weights,
optimiser, schedule, AMP scaler, RNG and the data position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import Tensor

from faceforge.enhance.restorer import FORMAT, VERSION
from faceforge.enhance.restorer_net import RestorerNet
from faceforge.errors import InputError
from faceforge.training.batches import BatchStream, safe_workers
from faceforge.training.data import make_loader
from faceforge.training.distributed import DistContext, wrap
from faceforge.training.loop import LoopTrainer, TrainHooks
from faceforge.training.losses import ssim_loss
from faceforge.training.optim import (
    build_optimizer,
    build_scheduler,
    clip_gradients,
    follow_run_rate,
    load_scheduler_state,
    scheduler_state,
)
from faceforge.training.preview import preview_tiles, tile_grid
from faceforge.training.restorer.config import RestorerConfig
from faceforge.training.restorer.data import RestorerDataset, faceset_crops, split_holdout

STATE_FORMAT = "faceforge-restorer-state"
STATE_VERSION = 1
PREVIEW_FACES = 4


class RestorerTrainer(LoopTrainer):
    """Trains a :class:`RestorerNet` on ``faceset`` into ``model_dir`` (resuming what is there)."""

    def __init__(
        self,
        config: RestorerConfig,
        faceset: Path,
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
        self.config: RestorerConfig = config
        files, stored_size, self.template = faceset_crops(faceset)
        self.size = config.size or stored_size
        if self.size % 2:
            raise InputError(f"{faceset} holds {self.size}-px crops; the restorer needs an even side.")
        resume = self.open_saved_run(rollback)
        self.files, self.held_out = split_holdout(files, config.holdout)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.net = RestorerNet(config.net)
        stored, state = self.store.load("latest") if resume else (None, None)
        if stored is not None:
            self.net.load_state_dict(stored)
        self.net.to(self.device)
        self.module = wrap(self.net, self.ctx, self.device)
        self.optimizer = build_optimizer(self.net.parameters(), config.optimiser, self.device)
        self.scheduler = build_scheduler(self.optimizer, config.optimiser, config.iterations)
        data_state = {"epoch": 0, "batch": 0}
        if state is not None:
            self.restore_loop_state(state, STATE_FORMAT, STATE_VERSION)
            self.optimizer.load_state_dict(state["optimizer"])
            load_scheduler_state(self.scheduler, state["scheduler"])
            follow_run_rate(
                self.optimizer, self.scheduler, config.optimiser, self.iteration, config.iterations
            )
            data_state = state["data"]
        self.dataset = RestorerDataset(self.files, self.size, config.recipe, config.seed)
        loader = make_loader(
            self.dataset, config.batch_size, config.workers, config.seed, self.ctx.rank, self.ctx.world_size
        )
        self.stream = BatchStream(safe_workers(loader), **data_state)
        self.open_writer(tensorboard)
        self.last_save = self.iteration if resume else None
        if self.console is not None:
            self.console.print(
                f"faceset {faceset}: {len(self.files)} faces to train on at {self.size} px, "
                f"{len(self.held_out)} held out",
                highlight=False,
            )

    def check_stored_settings(self) -> None:
        """A resumed folder must hold a restorer of this shape, trained on crops of this layout."""
        stored = self.store.read_config()
        if stored.get("format") != FORMAT:
            raise InputError(f"{self.model_dir} holds another kind of model; train into a new folder.")
        if stored.get("net") != self.config.net.to_dict() or stored.get("crop") != self._crop():
            raise InputError(
                f"{self.model_dir} holds a restorer of another width, depth or crop; resume it with its own "
                "settings, or train into a new folder."
            )

    def _crop(self) -> dict[str, object]:
        return {"template": self.template, "size": self.size}

    @property
    def examples_per_iteration(self) -> int:
        return self.config.batch_size * self.ctx.world_size

    def write_config(self) -> None:
        self.store.write_config(
            {
                "format": FORMAT,
                "version": VERSION,
                "net": self.config.net.to_dict(),
                "crop": self._crop(),
                "train": self.config.to_dict(),
            }
        )

    def train_step(self) -> dict[str, float]:
        batch = next(self.stream)
        degraded = batch["input"].to(self.device, non_blocking=True)
        clean = batch["target"].to(self.device, non_blocking=True)
        with self.autocast():
            restored = self.module(degraded)
        restored = restored.float()
        l1 = F.l1_loss(restored, clean)
        terms = {"l1": l1}
        loss = l1
        if self.config.ssim_weight:  # kornia's SSIM costs about a third of the step on a CPU
            terms["ssim"] = ssim_loss(restored.clamp(0, 1), clean, torch.ones_like(clean[:, :1]))
            loss = l1 + self.config.ssim_weight * terms["ssim"]
        if self.hooks.loss is not None:
            loss = self.hooks.loss(self.iteration + 1, loss)
        value = float(loss.detach())
        self.check_finite(value)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.optimiser.clip:
            self.scaler.unscale_(self.optimizer)
            clip_gradients(self.net.parameters(), self.config.optimiser.clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.iteration += 1
        return {"total": value, **{name: float(term.detach()) for name, term in terms.items()}}

    def checkpoint(self) -> tuple[dict[str, Tensor], dict[str, Any], dict[str, str]]:
        state = {
            **self.loop_state(STATE_FORMAT, STATE_VERSION),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": scheduler_state(self.scheduler),
            "data": self.stream.state(),
        }
        return self.net.state_dict(), state, {"model": FORMAT}

    @torch.no_grad()
    def render_preview(self) -> np.ndarray:
        """Degraded | restored | clean for the first faces of the data (fixed draws)."""
        items = [self.dataset[i] for i in range(min(PREVIEW_FACES, len(self.dataset)))]
        degraded = torch.stack([item["input"] for item in items]).to(self.device)
        clean = torch.stack([item["target"] for item in items])
        self.net.eval()
        restored = self.net(degraded).float()
        self.net.train()
        return tile_grid(
            {
                "degraded": preview_tiles(degraded),
                "restored": preview_tiles(restored),
                "clean": preview_tiles(clean),
            }
        )

    def console_line(self, means: dict[str, float], rate: float, lr: float) -> str:
        ssim = f", SSIM {means['ssim']:.4f}" if "ssim" in means else ""
        return (
            f"iteration {self.iteration}: loss {means['total']:.4f} (L1 {means['l1']:.4f}{ssim}), "
            f"{rate:.1f} faces/s, lr {lr:.2e}"
        )

    def train_mode(self) -> None:
        self.net.train()

    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])
