"""The trainer of swap autoencoders: one shared encoder, a decoder per person, two facesets.

One iteration takes a batch of A and a batch of B, reconstructs each through its own side in a single
forward pass (so DDP sees one graph), adds the two losses and steps the optimiser. Around that loop:

- checkpoints every ``save_every`` iterations, snapshots every ``snapshot_every`` (the last K kept) and
  a backup of the best-loss save (:mod:`faceforge.training.checkpoint`); a run started on a folder that
  holds a checkpoint resumes exactly where it stopped: weights, optimiser, schedule, AMP scaler, RNG and
  the position in both data streams (so N + M iterations equal N+M uninterrupted);
- a non-finite loss stops the run before the bad step touches the weights, with one sentence saying so;
  ``rollback=True`` restarts from the newest snapshot;
- Ctrl-C or SIGTERM finishes the current iteration, saves and stops;
- previews every ``preview_every`` iterations (PNG and TensorBoard), loss curves in TensorBoard, a console
  line with the iteration, the losses and examples per second;
- AMP (autocast, with a gradient scaler for float16) and DDP (:mod:`faceforge.training.distributed`);
  only rank 0 writes anything.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch import Tensor
from torch.utils.data import DataLoader

from faceforge.errors import FaceforgeError, InputError
from faceforge.nets.autoencoders import AutoencoderConfig, SwapAutoencoder, build_autoencoder
from faceforge.training.checkpoint import CheckpointStore
from faceforge.training.config import TrainConfig
from faceforge.training.data import FacesetDataset, make_loader
from faceforge.training.distributed import DistContext, any_rank, barrier, mean_over_ranks, wrap
from faceforge.training.losses import swap_loss
from faceforge.training.optim import (
    build_optimizer,
    build_scheduler,
    clip_gradients,
    load_scheduler_state,
    lr_factor,
    scheduler_state,
)
from faceforge.training.preview import fixed_samples, render_preview, write_preview

STATE_FORMAT = "faceforge-train-state"
STATE_VERSION = 1
_KEYS = ("input", "target", "mask", "weight", "eyes", "mouth")


class NonFiniteLossError(FaceforgeError):
    """The loss became NaN or infinite; the run stopped before the step touched the weights."""

    exit_code = 7


@dataclass(slots=True)
class TrainHooks:
    """Test and debugging hooks. ``loss`` may replace the loss of an iteration (1-based), e.g. with NaN."""

    loss: Callable[[int, Tensor], Tensor] | None = None
    after_save: Callable[[int, Path], None] | None = None


@dataclass(slots=True)
class TrainReport:
    start_iteration: int
    iteration: int
    examples_per_s: float
    last_losses: dict[str, float] = field(default_factory=dict)
    interrupted: str | None = None  # "SIGINT" / "SIGTERM" when a signal ended the run (after a save)
    last_save: int | None = None


class PairModel(torch.nn.Module):
    """Both sides in one forward pass: ``(rgb_a, mask_a), (rgb_b, mask_b)``. DDP wraps this, so every
    parameter (encoder, both decoders or intermediates) takes part in the one graph it reduces."""

    def __init__(self, model: SwapAutoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, xa: Tensor, xb: Tensor) -> tuple[tuple[Tensor, Tensor | None], ...]:
        return self.model(xa, "a"), self.model(xb, "b")


def resolve_amp(mode: str, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """The autocast dtype (None: off) and whether a gradient scaler is needed, for ``mode`` on ``device``."""
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return None, False
    if mode == "auto":
        return (torch.bfloat16, False) if torch.cuda.is_bf16_supported() else (torch.float16, True)
    if mode == "bf16":
        return torch.bfloat16, False
    return torch.float16, True


def build_model(config: AutoencoderConfig, seed: int) -> SwapAutoencoder:
    """A freshly initialised model; the initialisation depends on ``seed`` only (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_autoencoder(config)


def _safe_workers(loader: DataLoader) -> DataLoader:
    """Start the loader's workers from a clean server process (forkserver) where the platform has one:
    forking a process that already runs other native thread pools (MediaPipe, OpenMP) can deadlock the
    child."""
    import multiprocessing

    if loader.num_workers > 0 and "forkserver" in multiprocessing.get_all_start_methods():
        loader.multiprocessing_context = "forkserver"
    return loader


class BatchStream:
    """Endless batches from a loader made by :func:`make_loader`, with a resumable position.

    The position is ``(epoch, batch)``: the batches already taken from that epoch. The loader's sampler
    is set to the epoch before each pass; since the dataset's randomness is a function of the seed and
    the sample index, resuming a position mid-epoch (the rest of that epoch's index list, then the
    following epochs) yields exactly the batches an uninterrupted run would have seen.
    """

    def __init__(self, loader: DataLoader, epoch: int = 0, batch: int = 0) -> None:
        self.loader, self.epoch, self.batch = loader, epoch, batch
        self._iterator: Iterator[Any] | None = None

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batch": self.batch}

    def _start_pass(self) -> Iterator[Any]:
        sampler = self.loader.sampler
        sampler.set_epoch(self.epoch)  # type: ignore[attr-defined]
        if self.batch == 0:
            return iter(self.loader)
        # Resume mid-epoch: the rest of this epoch's indices, without loading the ones already used.
        indices = list(iter(sampler))[self.batch * self.loader.batch_size :]  # type: ignore[operator]
        loader = self.loader
        partial = _safe_workers(
            DataLoader(
                loader.dataset,
                batch_size=loader.batch_size,
                sampler=indices,
                num_workers=loader.num_workers,
                collate_fn=loader.collate_fn,
                pin_memory=loader.pin_memory,
                drop_last=loader.drop_last,
                worker_init_fn=loader.worker_init_fn,
            )
        )
        return iter(partial)

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> dict[str, Tensor]:
        for _ in range(2):
            if self._iterator is None:
                self._iterator = self._start_pass()
            try:
                item = next(self._iterator)
            except StopIteration:
                self._iterator = None
                self.epoch, self.batch = self.epoch + 1, 0
                continue
            self.batch += 1
            return item
        raise InputError("The faceset yields no full batch; lower the batch size.")


class _StopSignals:
    """While active (main thread only), SIGINT and SIGTERM set a flag instead of unwinding mid-step."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        self.received = signal.Signals(signum).name

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
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
        self.config = config
        self.ctx = ctx or DistContext()
        self.device = (
            torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        )
        self.model_dir = Path(model_dir)
        self.console = console if self.ctx.is_main else None
        self.hooks = hooks or TrainHooks()
        self.store = CheckpointStore(self.model_dir, config.keep_snapshots)
        self.amp_dtype, use_scaler = resolve_amp(config.amp, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=use_scaler)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format

        resume = self.store.has_checkpoint() and self.store.read_index().latest is not None
        if resume:
            self._check_stored_model()
        if rollback:
            if not resume:
                raise InputError(f"{self.model_dir} holds no checkpoint to roll back.")
            if self.ctx.is_main:
                self.store.rollback()
            barrier(self.ctx)

        self.model = build_model(config.model, config.seed).to(self.device, memory_format=self.memory_format)
        weights, state = self.store.load("latest") if resume else (None, None)
        if weights is not None:
            self.model.load_state_dict(weights)
        self.pair = PairModel(self.model)
        self.module: torch.nn.Module = wrap(self.pair, self.ctx, self.device)
        if config.compile:
            self.module = torch.compile(self.module)  # type: ignore[assignment]
        self.optimizer = build_optimizer(self.model.parameters(), config.optimiser, self.device)
        self.scheduler = build_scheduler(self.optimizer, config.optimiser, config.iterations)
        self.iteration = 0
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
                _safe_workers(
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
        self.writer = None
        if tensorboard and self.ctx.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.model_dir / "logs"), purge_step=self.iteration or None)
        self.last_save: int | None = self.iteration if resume else None

    # -- state -----------------------------------------------------------------------------------------

    def _check_stored_model(self) -> None:
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
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "iteration": self.iteration,
            "optimizer_name": self.config.optimiser.name,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": scheduler_state(self.scheduler),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
            },
            "data": {side: stream.state() for side, stream in self.streams.items()},
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        if state.get("format") != STATE_FORMAT or int(state.get("version", 0)) > STATE_VERSION:
            raise InputError(f"The training state in {self.model_dir} is not one this faceforge can resume.")
        if state.get("optimizer_name") != self.config.optimiser.name:
            raise InputError(
                f"{self.model_dir} was trained with the '{state.get('optimizer_name')}' optimiser; "
                f"resume it with the same one."
            )
        self.iteration = int(state["iteration"])
        self.optimizer.load_state_dict(state["optimizer"])
        load_scheduler_state(self.scheduler, state["scheduler"])
        # The rate follows this run's optimiser settings (a resumed run may lower it, say after a rollback).
        opt = self.config.optimiser
        self.scheduler.base_lrs = [opt.lr for _ in self.optimizer.param_groups]
        for group in self.optimizer.param_groups:
            group["lr"] = opt.lr * lr_factor(self.iteration, opt, self.config.iterations)
            group["weight_decay"] = opt.weight_decay
        self.scheduler._last_lr = [g["lr"] for g in self.optimizer.param_groups]  # type: ignore[attr-defined]
        if self.scaler.is_enabled() and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available() and state["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def save(self, loss: float | None) -> None:
        """Write a checkpoint at the current iteration (rank 0; the other ranks wait)."""
        if self.ctx.is_main:
            snapshot = bool(self.config.snapshot_every) and self.iteration % self.config.snapshot_every == 0
            meta = {"model_config": json.dumps(self.config.model.to_dict())}
            folder, _ = self.store.save(
                self.iteration, self.model.state_dict(), self.training_state(), loss=loss,
                snapshot=snapshot, metadata=meta,
            )  # fmt: skip
            if self.writer is not None:
                self.writer.flush()
            if self.hooks.after_save is not None:
                self.hooks.after_save(self.iteration, folder)
        barrier(self.ctx)
        self.last_save = self.iteration

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
        autocast = (
            torch.autocast(self.device.type, dtype=self.amp_dtype)
            if self.amp_dtype is not None
            else contextlib.nullcontext()
        )
        with autocast:
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
        if any_rank(not math.isfinite(value), self.ctx, self.device):
            self._stop_non_finite(value)
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

    def _stop_non_finite(self, value: float) -> None:
        at = self.iteration + 1
        what = "NaN" if math.isnan(value) else "infinite"
        index = self.store.read_index()
        snapshot = index.saves[index.snapshots[-1]].iteration if index.snapshots else None
        if self.ctx.is_main:
            self.store.mark_stopped(at, f"{what} loss")
            if self.writer is not None:
                self.writer.flush()
        saved = (
            f"the last save is at iteration {self.last_save}"
            if self.last_save is not None
            else "nothing was saved"
        )
        advice = (
            f"run again with --rollback to restart from the snapshot at iteration {snapshot}"
            if snapshot is not None
            else "run again to resume from the last save"
        )
        raise NonFiniteLossError(
            f"The loss became {what} at iteration {at}, so training stopped before that step changed the "
            f"weights ({saved}); {advice}, perhaps with a lower learning rate or gradient clipping."
        )

    # -- the loop --------------------------------------------------------------------------------------

    def preview(self) -> Path | None:
        if not self.ctx.is_main or self.preview_samples is None:
            return None
        grid = render_preview(self.model, self.preview_samples["a"], self.preview_samples["b"], self.device)
        path = write_preview(self.model_dir, self.iteration, grid)
        if self.writer is not None:
            self.writer.add_image("preview", torch.from_numpy(grid).permute(2, 0, 1), self.iteration)
        return path

    def run(self) -> TrainReport:
        """Train until ``config.iterations`` (or a signal); returns where it stopped."""
        cfg = self.config
        if self.ctx.is_main:
            self.store.write_config(cfg.to_dict())
        report = TrainReport(self.iteration, self.iteration, 0.0, last_save=self.last_save)
        if self.console is not None and self.iteration:
            self.console.print(f"resuming at iteration {self.iteration}", highlight=False)
        examples_per_iteration = 2 * cfg.batch_size * self.ctx.world_size
        window: dict[str, float] = {}
        window_count, since_save, since_save_count = 0, 0.0, 0
        window_start = time.perf_counter()
        run_start, run_iterations = window_start, 0
        self.model.train()
        try:
            with _StopSignals() as signals:
                while self.iteration < cfg.iterations:
                    losses = self.step(next(self.streams["a"]), next(self.streams["b"]))
                    run_iterations += 1
                    for key, value in losses.items():
                        window[key] = window.get(key, 0.0) + value
                    window_count += 1
                    since_save += losses["total"]
                    since_save_count += 1
                    report.last_losses = losses
                    stop = any_rank(signals.received is not None, self.ctx, self.device)
                    if self.iteration % cfg.log_every == 0 or stop or self.iteration == cfg.iterations:
                        now = time.perf_counter()
                        rate = window_count * examples_per_iteration / max(now - window_start, 1e-9)
                        means = {k: v / window_count for k, v in window.items()}
                        means = mean_losses(means, self.ctx, self.device)
                        self._log(means, rate)
                        window, window_count, window_start = {}, 0, now
                    if cfg.preview_every and self.iteration % cfg.preview_every == 0:
                        self.preview()
                    if self.iteration % cfg.save_every == 0 or stop or self.iteration == cfg.iterations:
                        self.save(since_save / since_save_count)
                        report.last_save = self.iteration
                        since_save, since_save_count = 0.0, 0
                    if stop:
                        report.interrupted = signals.received or "signal"
                        break
        finally:
            if self.writer is not None:
                self.writer.flush()
        report.iteration = self.iteration
        elapsed = time.perf_counter() - run_start
        report.examples_per_s = run_iterations * examples_per_iteration / max(elapsed, 1e-9)
        return report

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _log(self, means: dict[str, float], rate: float) -> None:
        lr = self.optimizer.param_groups[0]["lr"]
        if self.writer is not None:
            for key, value in means.items():
                self.writer.add_scalar(f"loss/{key}", value, self.iteration)
            self.writer.add_scalar("train/examples_per_s", rate, self.iteration)
            self.writer.add_scalar("train/lr", lr, self.iteration)
        if self.console is not None:
            parts = " ".join(f"{k} {v:.4f}" for k, v in means.items() if k not in ("total", "a", "b"))
            self.console.print(
                f"[bold]{self.iteration:>8}[/]  loss A {means['a']:.4f}  B {means['b']:.4f}  "
                f"[dim]({parts})[/]  {rate:6.1f} ex/s  lr {lr:.2e}",
                highlight=False,
                soft_wrap=True,
            )


def mean_losses(losses: dict[str, float], ctx: DistContext, device: torch.device) -> dict[str, float]:
    """``losses`` averaged over ranks (each rank logs its own shard's otherwise)."""
    if not ctx.distributed:
        return losses
    keys = sorted(losses)
    values = mean_over_ranks(torch.tensor([losses[k] for k in keys], device=device), ctx)
    return dict(zip(keys, values.tolist(), strict=True))
