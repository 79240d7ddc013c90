"""GHOST's training recipe for AEI-Net: one generator, one multi-scale discriminator, a frozen identity
encoder, one dataset of aligned crops.

One iteration, on a batch of (Xs, Xt, same) pairs:

1. ``z = id(Xs_id)`` with the frozen crop identity encoder;
2. the generator step: ``Y, attr(Xt) = G(Xt, z)`` and ``attr(Y)`` in one forward pass (one graph for DDP),
   the discriminator (frozen for this pass) on Y, ``id(Y)``; the weighted sum of the adversarial,
   attribute, identity, reconstruction, eye (stage 2) and distillation losses;
3. the discriminator step on Xs (real) and the detached Y (fake), in one forward pass; skipped with
   ``discr_force`` while the moving average of the adversarial loss is 4 or more, and altogether when the
   adversarial weight is 0;
4. both losses are checked before either network steps: a NaN stops the run with the weights untouched.

**Two stages.** Stage 1 trains without the eye loss: early on Y is not yet a face, its eyes are not where
the target's are, and a gaze term would only pull pixels around. From iteration ``stage2_at`` on, stage 2
adds the eye loss (weight ``losses.eyes``) to make the swap keep the target's gaze, as GHOST's authors did
when fine-tuning with their FAN eye loss. The stage is saved with the run and never goes back.

Saves, snapshots, rollback, the NaN stop, signals, previews, logging and AMP come from
:class:`~faceforge.training.loop.LoopTrainer`; the model folder's layout from
:mod:`faceforge.models.oneshot`. A run resumes exactly: weights (G and D), both optimisers and
schedules, AMP scaler, RNG, the data position, the stage and the discriminator-forcing average.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from torch import Tensor, nn

from faceforge.analysis.crop_identity import create_crop_identity
from faceforge.errors import InputError, OptionError
from faceforge.models.oneshot import DISCRIMINATOR_PREFIX, FORMAT, GENERATOR_PREFIX, VERSION, unprefixed
from faceforge.nets.aeinet import AEINet
from faceforge.training.batches import BatchStream, safe_workers
from faceforge.training.data import make_loader
from faceforge.training.distributed import DistContext, mean_over_ranks, wrap
from faceforge.training.loop import LoopTrainer, TrainHooks
from faceforge.training.oneshot import losses as L
from faceforge.training.oneshot.config import FIXED_SETTINGS, OneshotConfig
from faceforge.training.oneshot.data import CROP_SIZE, DatasetIndex, OneshotDataset, scan_dataset
from faceforge.training.oneshot.distill import check_teacher, distillation_terms, load_teacher
from faceforge.training.oneshot.model_io import prefixed, read_training_config
from faceforge.training.oneshot.networks import GeneratorPass, build_networks, frozen
from faceforge.training.oneshot.prepare import read_crop_info
from faceforge.training.optim import (
    build_optimizer,
    build_scheduler,
    clip_gradients,
    follow_run_rate,
    load_scheduler_state,
    scheduler_state,
)
from faceforge.training.preview import preview_tiles, tile_grid

STATE_FORMAT = "faceforge-oneshot-state"
STATE_VERSION = 1
FORCE_EMA_START, FORCE_EMA_DECAY, FORCE_THRESHOLD = 20.0, 0.98, 4.0  # GHOST's discr_force rule
_BATCH_KEYS = ("source_id", "source", "target", "same", "eyes", "eye_width", "eye_valid")


class OneshotTrainer(LoopTrainer):
    """Trains AEI-Net on the one-shot dataset ``dataset`` into ``model_dir`` (resuming what is there).

    Arguments as for :class:`~faceforge.training.trainer.Trainer`.
    """

    def __init__(
        self,
        config: OneshotConfig,
        dataset: Path,
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
        self.config: OneshotConfig = config
        weights = config.losses
        if not (weights.adv or weights.attr or weights.id or weights.rec or weights.eyes or config.teacher):
            raise OptionError("Every generator loss weight is 0: there is nothing to train.")
        resume = self.open_saved_run(rollback)

        self.crop = read_crop_info(dataset)
        if self.crop.get("size") != CROP_SIZE:
            raise InputError(
                f"{dataset} holds {self.crop.get('size')}-px crops; AEI-Net trains on 256-px ones."
            )
        self.index: DatasetIndex = scan_dataset(dataset, config.min_size)
        if weights.eyes and not self.index.with_landmarks:
            raise InputError(
                f"The eye loss needs face landmarks, and {dataset} has none; make the dataset with "
                "`faceforge prepare-oneshot`, or leave the eye weight at 0."
            )

        self.identity = create_crop_identity(config.identity, config.identity_weights).to(self.device)
        if self.identity.dim != config.generator.c_id:  # ArcFace weights of another embedding size
            raise InputError(
                f"The identity encoder gives {self.identity.encoder} {self.identity.dim}-d vectors; the "
                f"generator was set up for {config.identity} {config.generator.c_id}-d ones."
            )
        self.teacher: AEINet | None = None
        if config.teacher:
            teacher, teacher_identity = load_teacher(config.teacher)
            check_teacher(teacher, teacher_identity, config.identity, self.identity.dim)
            self.teacher = teacher.to(self.device)

        self.generator, self.discriminator = build_networks(config)
        stored, state = self.store.load("latest") if resume else (None, None)
        if stored is not None:
            self.generator.load_state_dict(unprefixed(stored, GENERATOR_PREFIX))
            self.discriminator.load_state_dict(unprefixed(stored, DISCRIMINATOR_PREFIX))
        self.generator.to(self.device)
        self.discriminator.to(self.device)
        self.g_module = wrap(GeneratorPass(self.generator, weights.attr > 0), self.ctx, self.device)
        self.d_module = wrap(self.discriminator, self.ctx, self.device) if weights.adv else self.discriminator
        opt = config.optimiser
        self.optimizer_g = build_optimizer(self.generator.parameters(), opt, self.device)
        self.optimizer_d = build_optimizer(self.discriminator.parameters(), opt, self.device)
        self.scheduler_g = build_scheduler(self.optimizer_g, opt, config.iterations)
        self.scheduler_d = build_scheduler(self.optimizer_d, opt, config.iterations)
        self.stage = config.stage_at(0)
        self.adv_ema = FORCE_EMA_START
        data_state = {"epoch": 0, "batch": 0}
        if state is not None:
            self._load_state(state)
            data_state = state["data"]

        self.dataset = OneshotDataset(self.index, config.seed, config.same_person, config.jitter)
        loader = make_loader(
            self.dataset, config.batch_size, config.workers, config.seed, self.ctx.rank, self.ctx.world_size
        )
        self.stream = BatchStream(safe_workers(loader), **data_state)
        self.preview_pairs = self._fixed_pairs() if self.ctx.is_main and config.preview_every else None
        self.open_writer(tensorboard)
        self.last_save = self.iteration if resume else None
        if self.console is not None:
            self.console.print(self._dataset_line(dataset), highlight=False, soft_wrap=True)

    # -- configuration and state -----------------------------------------------------------------------

    def check_stored_settings(self) -> None:
        previous = read_training_config(self.model_dir)
        changed = [name for name in FIXED_SETTINGS if getattr(previous, name) != getattr(self.config, name)]
        if changed:
            raise InputError(
                f"{self.model_dir} was trained with another {changed[0].replace('_', ' ')}; resume it with "
                "its own settings, or train into a new folder."
            )

    def folder_config(self) -> dict[str, Any]:
        """``config.json`` of the model folder (see :mod:`faceforge.models.oneshot`)."""
        train = self.config.to_dict()
        generator = train.pop("generator")
        return {
            "format": FORMAT,
            "version": VERSION,
            "generator": generator,
            "identity": {
                "encoder": self.identity.encoder,
                "dim": self.identity.dim,
                "weights": self.config.identity_weights,
            },
            "crop": {"size": CROP_SIZE, "poses": bool(self.crop.get("poses", True))},
            "train": train,
        }

    def training_state(self) -> dict[str, Any]:
        """Everything besides the weights that an exact resume needs (tensors and plain containers)."""
        return {
            **self.loop_state(STATE_FORMAT, STATE_VERSION),
            "stage": self.stage,
            "adv_ema": self.adv_ema,
            "optimizer_g": self.optimizer_g.state_dict(),
            "optimizer_d": self.optimizer_d.state_dict(),
            "scheduler_g": scheduler_state(self.scheduler_g),
            "scheduler_d": scheduler_state(self.scheduler_d),
            "data": self.stream.state(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.restore_loop_state(state, STATE_FORMAT, STATE_VERSION)
        self.stage = max(int(state["stage"]), self.config.stage_at(self.iteration))
        self.adv_ema = float(state["adv_ema"])
        pairs = ((self.optimizer_g, self.scheduler_g, "g"), (self.optimizer_d, self.scheduler_d, "d"))
        for optimizer, scheduler, side in pairs:
            optimizer.load_state_dict(state[f"optimizer_{side}"])
            load_scheduler_state(scheduler, state[f"scheduler_{side}"])
            steps = scheduler.last_epoch  # the iteration for G; D's own step count for D
            follow_run_rate(optimizer, scheduler, self.config.optimiser, steps, self.config.iterations)

    def _dataset_line(self, dataset: Path) -> str:
        index = self.index
        identities = sum(1 for group in index.groups if len(group))
        people = f" of {identities} identities" if index.grouped else " (flat: no identities)"
        left_out = f"{index.too_small} under {self.config.min_size} px, {index.unreadable} unreadable"
        return (
            f"dataset {dataset}: {len(index.files)} images{people}, {index.with_landmarks} with landmarks; "
            f"left out: {left_out}"
        )

    # -- one iteration ---------------------------------------------------------------------------------

    def _to_device(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        return {key: batch[key].to(self.device, non_blocking=True) for key in _BATCH_KEYS}

    def _enter_stage(self) -> None:
        if self.stage == 1 and self.config.stage_at(self.iteration) == 2:
            self.stage = 2
            if self.console is not None:
                self.console.print(
                    f"stage 2 from iteration {self.iteration + 1}: the eye loss is on "
                    f"(weight {self.config.losses.eyes:g})",
                    highlight=False,
                )

    def generator_terms(self, batch: dict[str, Tensor], z_id: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """G's forward pass: ``Y`` and the unweighted loss terms the configuration asks for."""
        w = self.config.losses
        with self.autocast():
            output, target_attrs, output_attrs = self.g_module(batch["target"], z_id)
            terms: dict[str, Tensor] = {}
            if w.adv:
                with frozen(self.discriminator):
                    terms["adv"] = L.generator_adversarial(self.discriminator(output))
            if w.id:
                terms["id"] = L.identity_loss(z_id, self.identity(output))
            if self.teacher is not None:
                terms.update(distillation_terms(self.teacher, output, batch["target"], z_id))
        output = output.float()
        if w.attr:
            terms["attr"] = L.attribute_loss(target_attrs, output_attrs)
        if w.rec:
            terms["rec"] = L.reconstruction_loss(output, batch["target"], batch["same"])
        if w.eyes and self.stage == 2:
            terms["eyes"] = L.eye_loss(
                output, batch["target"], batch["eyes"], batch["eye_width"], batch["eye_valid"]
            )
        return output, terms

    def _weight(self, name: str) -> float:
        return float(getattr(self.config.losses, name))

    def _train_discriminator(self, adversarial: float | None) -> bool:
        """Whether D steps this iteration (GHOST's ``discr_force``: only while the averaged adversarial
        loss, the same on every rank, is under 4)."""
        if adversarial is None:
            return False
        if not self.config.discr_force:
            return True
        mean = float(mean_over_ranks(torch.tensor([adversarial], device=self.device), self.ctx)[0])
        self.adv_ema = FORCE_EMA_DECAY * self.adv_ema + (1.0 - FORCE_EMA_DECAY) * mean
        return self.adv_ema < FORCE_THRESHOLD

    def train_step(self) -> dict[str, float]:
        return self.step(next(self.stream))

    def step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        """One iteration on ``batch``. Raises :class:`~faceforge.training.loop.NonFiniteLossError` (weights
        untouched) on a NaN or infinite loss."""
        self._enter_stage()
        batch = self._to_device(batch)
        with torch.no_grad(), self.autocast():
            z_id = self.identity(batch["source_id"])
        output, terms = self.generator_terms(batch, z_id.float())
        g_loss = torch.stack([self._weight(name) * value.float() for name, value in terms.items()]).sum()
        if self.hooks.loss is not None:
            g_loss = self.hooks.loss(self.iteration + 1, g_loss)
        values = {name: float(value.detach()) for name, value in terms.items()}
        g_value = float(g_loss.detach())

        train_d = self._train_discriminator(values.get("adv"))
        d_loss = None
        if train_d:
            real = batch["source"]
            with self.autocast():
                logits = self.d_module(torch.cat([real, output.detach().to(real.dtype)]))
            n = len(real)
            d_loss = L.discriminator_hinge([x[:n] for x in logits], [x[n:] for x in logits])
        d_value = float(d_loss.detach()) if d_loss is not None else 0.0
        self.check_finite(g_value, d_value)

        self.scaler.scale(g_loss).backward()
        self._step(self.optimizer_g, self.generator)
        if d_loss is not None:
            self.scaler.scale(d_loss).backward()
            self._step(self.optimizer_d, self.discriminator)
        self.scaler.update()
        self.scheduler_g.step()
        if d_loss is not None:  # D's schedule counts D's own steps (discr_force skips some)
            self.scheduler_d.step()
        self.optimizer_g.zero_grad(set_to_none=True)
        self.optimizer_d.zero_grad(set_to_none=True)
        self.iteration += 1
        losses = {"total": g_value, **values}
        if d_loss is not None:
            losses["d"] = d_value
        return losses

    def _step(self, optimizer: torch.optim.Optimizer, network: nn.Module) -> None:
        if self.config.optimiser.clip > 0:
            self.scaler.unscale_(optimizer)
            clip_gradients(network.parameters(), self.config.optimiser.clip)
        self.scaler.step(optimizer)

    # -- what the loop calls ---------------------------------------------------------------------------

    @property
    def examples_per_iteration(self) -> int:
        return self.config.batch_size * self.ctx.world_size

    def write_config(self) -> None:
        self.store.write_config(self.folder_config())

    def checkpoint(self) -> tuple[dict[str, Tensor], dict[str, Any], dict[str, str]]:
        weights = prefixed(self.generator.state_dict(), self.discriminator.state_dict())
        meta = {"format": FORMAT, "generator_config": json.dumps(self.config.generator.to_dict())}
        return weights, self.training_state(), meta

    def train_mode(self) -> None:
        self.generator.train()
        self.discriminator.train()

    def current_lr(self) -> float:
        return float(self.optimizer_g.param_groups[0]["lr"])

    def _fixed_pairs(self) -> dict[str, Tensor]:
        """Un-jittered (source, target) pairs for the previews: images spread over the dataset, each with
        the image half the dataset away as its target."""
        count = len(self.dataset)
        shown = min(self.config.preview_count, count)
        sources = [k * count // shown for k in range(shown)]
        return {
            "source": torch.stack([self.dataset.plain(i) for i in sources]),
            "target": torch.stack([self.dataset.plain((i + count // 2) % count) for i in sources]),
        }

    @torch.no_grad()
    def swap(self, sources: Tensor, targets: Tensor) -> Tensor:
        """The generator's swaps of ``sources`` into ``targets`` in eval mode (its mode is restored)."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            z_id = self.identity(sources.to(self.device)).float()
            return self.generator(targets.to(self.device), z_id)[0]
        finally:
            self.generator.train(was_training)

    def render_preview(self) -> np.ndarray:
        if self.preview_pairs is None:
            raise RuntimeError("No preview pairs: previews are off or this is not the main process.")
        source, target = self.preview_pairs["source"], self.preview_pairs["target"]
        images = {"source": source, "target": target, "swap": self.swap(source, target)}
        return tile_grid({name: preview_tiles((x + 1.0) * 0.5) for name, x in images.items()})

    def console_line(self, means: dict[str, float], rate: float, lr: float) -> str:
        parts = " ".join(f"{k} {v:.4f}" for k, v in means.items() if k not in ("total", "d"))
        d = f"  D {means['d']:.4f}" if "d" in means else ""
        stage = f"  stage {self.stage}" if self.config.stage2_at else ""  # a run with two stages
        return (
            f"[bold]{self.iteration:>8}[/]{stage}  G {means['total']:.4f}{d}  "
            f"[dim]({parts})[/]  {rate:6.1f} ex/s  lr {lr:.2e}"
        )
