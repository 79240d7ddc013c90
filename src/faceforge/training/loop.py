"""The loop every faceforge trainer shares, whatever it trains (pair autoencoders, one-shot GANs).

:class:`LoopTrainer` owns what does not depend on the model:

- the model folder (:class:`~faceforge.training.checkpoint.CheckpointStore`): a save every ``save_every``
  iterations, a snapshot every ``snapshot_every``, a save when the run ends or is stopped; rollback to the
  newest snapshot;
- a non-finite loss stops the run before the bad step touches the weights, with one sentence saying so
  (:class:`NonFiniteLossError`, exit code 7);
- Ctrl-C or SIGTERM finishes the current iteration, saves and stops;
- previews every ``preview_every`` iterations (PNG and TensorBoard), loss curves in TensorBoard, a console
  line every ``log_every`` iterations with the losses averaged over the ranks;
- AMP (autocast, plus a gradient scaler for float16); only rank 0 writes anything.

A subclass builds its networks, optimisers and data, and implements :meth:`LoopTrainer.train_step` (one
iteration, returning its losses with a ``total``), :meth:`LoopTrainer.checkpoint` (what a save holds) and
the few other abstract methods (config, preview, console line, training mode, learning rate).
:class:`~faceforge.training.batches.BatchStream` gives it endless, resumable batches.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from torch import Tensor

from faceforge.errors import InputError, NonFiniteLossError
from faceforge.training.checkpoint import CheckpointStore
from faceforge.training.distributed import DistContext, any_rank, barrier, mean_over_ranks
from faceforge.training.loop_settings import LoopSettings
from faceforge.training.preview import write_preview


@dataclass(slots=True)
class TrainHooks:
    """Test and debugging hooks. ``loss`` may replace the loss of an iteration (1-based), e.g. with NaN."""

    loss: Callable[[int, Tensor], Tensor] | None = None


@dataclass(slots=True)
class TrainReport:
    start_iteration: int
    iteration: int
    examples_per_s: float
    last_losses: dict[str, float] = field(default_factory=dict)
    interrupted: str | None = None  # "SIGINT" / "SIGTERM" when a signal ended the run (after a save)
    last_save: int | None = None


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AMX tiles or AVX-512 BF16), where oneDNN's bfloat16
    convolutions beat float32 ones; elsewhere bfloat16 is emulated and slower."""
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def resolve_amp(mode: str, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """The autocast dtype (None: off) and whether a gradient scaler is needed, for ``mode`` on ``device``.

    ``auto``: on CUDA bfloat16 where the GPU supports it, else float16 with a scaler; on a CPU with native
    bfloat16, bfloat16 (with channels-last and fused Adam, 1.3-2.5x faster steps than plain float32,
    docs/benchmarks.md); otherwise off."""
    if mode == "auto" and device.type == "cuda":
        return (torch.bfloat16, False) if torch.cuda.is_bf16_supported() else (torch.float16, True)
    if mode == "auto":
        return (torch.bfloat16, False) if device.type == "cpu" and cpu_has_native_bf16() else (None, False)
    if mode == "off":
        return None, False
    if mode == "bf16":
        return torch.bfloat16, False
    return torch.float16, True


class StopSignals:
    """While active (main thread only), SIGINT and SIGTERM set a flag instead of unwinding mid-step."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        self.received = signal.Signals(signum).name

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def rng_state() -> dict[str, Any]:
    """The torch RNG states (CPU and every GPU), for an exact resume."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
    }


def restore_rng(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if torch.cuda.is_available() and state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])


def mean_losses(losses: dict[str, float], ctx: DistContext, device: torch.device) -> dict[str, float]:
    """``losses`` averaged over ranks (each rank logs its own shard's otherwise)."""
    if not ctx.distributed:
        return losses
    keys = sorted(losses)
    values = mean_over_ranks(torch.tensor([losses[k] for k in keys], device=device), ctx)
    return dict(zip(keys, values.tolist(), strict=True))


class LoopTrainer(ABC):
    """The shared loop (see the module docstring). ``ctx`` describes the DDP ranks; ``device`` defaults to
    CUDA when present; ``console`` gets the progress lines (rank 0; None: quiet)."""

    def __init__(
        self,
        config: LoopSettings,
        model_dir: Path,
        *,
        device: torch.device | str | None,
        ctx: DistContext | None,
        console: Console | None,
        hooks: TrainHooks | None,
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
        self.iteration = 0
        self.writer: Any = None
        self.last_save: int | None = None

    # -- what a subclass provides ----------------------------------------------------------------------

    @property
    @abstractmethod
    def examples_per_iteration(self) -> int:
        """Examples one iteration trains on, over all ranks (for the examples/s figures)."""

    @abstractmethod
    def write_config(self) -> None:
        """Write ``config.json`` (called on rank 0 when a run starts)."""

    @abstractmethod
    def train_step(self) -> dict[str, float]:
        """One iteration on the next batch; the losses, with the optimised sum as ``total``."""

    @abstractmethod
    def checkpoint(self) -> tuple[dict[str, Tensor], dict[str, Any], dict[str, str]]:
        """What a save holds: weights, training state (tensors and plain containers), weights metadata."""

    @abstractmethod
    def render_preview(self) -> np.ndarray:
        """The preview grid (uint8 RGB) of the model in its current state."""

    @abstractmethod
    def console_line(self, means: dict[str, float], rate: float, lr: float) -> str:
        """The console line of a logging interval (losses averaged over it, examples/s, learning rate)."""

    @abstractmethod
    def train_mode(self) -> None:
        """Put the trained networks in training mode (the loop calls it once before the first step)."""

    @abstractmethod
    def current_lr(self) -> float:
        """The learning rate to log."""

    # -- shared pieces ---------------------------------------------------------------------------------

    def loop_state(self, state_format: str, state_version: int) -> dict[str, Any]:
        """The entries of the training state that every trainer saves: its ``format`` and ``version``, the
        iteration, the optimiser's name, the gradient scaler and the RNG states."""
        return {
            "format": state_format,
            "version": state_version,
            "iteration": self.iteration,
            "optimizer_name": self.config.optimiser.name,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "rng": rng_state(),
        }

    def restore_loop_state(self, state: Mapping[str, Any], state_format: str, state_version: int) -> None:
        """Restore what :meth:`loop_state` saved (iteration, gradient scaler, RNG states), refusing a state
        of another format, a newer version or another optimiser; the subclass restores the rest."""
        if state.get("format") != state_format or int(state.get("version", 0)) > state_version:
            raise InputError(f"The training state in {self.model_dir} is not one this faceforge can resume.")
        if state.get("optimizer_name") != self.config.optimiser.name:
            raise InputError(
                f"{self.model_dir} was trained with the '{state.get('optimizer_name')}' optimiser; "
                "resume it with the same one."
            )
        self.iteration = int(state["iteration"])
        if self.scaler.is_enabled() and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        restore_rng(state["rng"])

    def has_saved_run(self) -> bool:
        return self.store.has_checkpoint()

    @abstractmethod
    def check_stored_settings(self) -> None:
        """Refuse (InputError) to resume a folder trained with settings this run may not change."""

    def open_saved_run(self, rollback: bool) -> bool:
        """Whether a saved run is resumed (its settings checked); ``rollback`` restores its snapshot."""
        resume = self.has_saved_run()
        if resume:
            self.check_stored_settings()
        if rollback:
            self.roll_back()
        return resume

    def roll_back(self) -> None:
        """Make the newest snapshot the latest save (rank 0; the other ranks wait)."""
        if not self.has_saved_run():
            raise InputError(f"{self.model_dir} holds no checkpoint to roll back.")
        if self.ctx.is_main:
            self.store.rollback()
        barrier(self.ctx)

    def open_writer(self, tensorboard: bool) -> None:
        """TensorBoard events in ``MODEL_DIR/logs`` (rank 0), dropping any logged after this iteration."""
        if tensorboard and self.ctx.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.model_dir / "logs"), purge_step=self.iteration or None)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def check_finite(self, *values: float) -> None:
        """Stop every rank (:class:`NonFiniteLossError`) when any rank's value is NaN or infinite."""
        bad = next((v for v in values if not math.isfinite(v)), None)
        if any_rank(bad is not None, self.ctx, self.device):
            self._stop_non_finite(math.nan if bad is None else bad)

    def _stop_non_finite(self, value: float) -> None:
        at = self.iteration + 1
        what = "infinite" if math.isinf(value) else "NaN"
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

    def save(self, loss: float | None) -> None:
        """Write a checkpoint at the current iteration (rank 0; the other ranks wait)."""
        if self.ctx.is_main:
            every = self.config.snapshot_every
            snapshot = bool(every) and self.iteration % every == 0
            weights, state, metadata = self.checkpoint()
            self.store.save(self.iteration, weights, state, loss=loss, snapshot=snapshot, metadata=metadata)
            if self.writer is not None:
                self.writer.flush()
        barrier(self.ctx)
        self.last_save = self.iteration

    def preview(self) -> Path | None:
        """Write the preview grid (PNG and TensorBoard) on rank 0; its path."""
        if not self.ctx.is_main:
            return None
        grid = self.render_preview()
        path = write_preview(self.model_dir, self.iteration, grid)
        if self.writer is not None:
            self.writer.add_image("preview", torch.from_numpy(grid).permute(2, 0, 1), self.iteration)
        return path

    def run(self) -> TrainReport:
        """Train until ``config.iterations`` (or a signal); returns where it stopped."""
        cfg = self.config
        if self.ctx.is_main:
            self.write_config()
        report = TrainReport(self.iteration, self.iteration, 0.0)
        if self.console is not None and self.iteration:
            self.console.print(f"resuming at iteration {self.iteration}", highlight=False)
        window: dict[str, float] = {}
        counts: dict[str, int] = {}  # per loss: a term may sit out some iterations (a skipped D step)
        window_count, since_save, since_save_count = 0, 0.0, 0
        window_start = time.perf_counter()
        run_start, run_iterations = window_start, 0
        self.train_mode()
        try:
            with StopSignals() as signals:
                while self.iteration < cfg.iterations:
                    losses = self.train_step()
                    run_iterations += 1
                    for key, value in losses.items():
                        window[key] = window.get(key, 0.0) + value
                        counts[key] = counts.get(key, 0) + 1
                    window_count += 1
                    since_save += losses["total"]
                    since_save_count += 1
                    report.last_losses = losses
                    stop = any_rank(signals.received is not None, self.ctx, self.device)
                    last = self.iteration == cfg.iterations
                    if self.iteration % cfg.log_every == 0 or stop or last:
                        now = time.perf_counter()
                        rate = window_count * self.examples_per_iteration / max(now - window_start, 1e-9)
                        means = {k: v / counts[k] for k, v in window.items()}
                        self._log(mean_losses(means, self.ctx, self.device), rate)
                        window, counts, window_count, window_start = {}, {}, 0, now
                    if cfg.preview_every and self.iteration % cfg.preview_every == 0:
                        self.preview()
                    if self.iteration % cfg.save_every == 0 or stop or last:
                        self.save(since_save / since_save_count)
                        since_save, since_save_count = 0.0, 0
                    if stop:
                        report.interrupted = signals.received or "signal"
                        break
        finally:
            if self.writer is not None:
                self.writer.flush()
        report.iteration, report.last_save = self.iteration, self.last_save
        elapsed = time.perf_counter() - run_start
        report.examples_per_s = run_iterations * self.examples_per_iteration / max(elapsed, 1e-9)
        return report

    def _log(self, means: dict[str, float], rate: float) -> None:
        lr = self.current_lr()
        if self.writer is not None:
            for key, value in means.items():
                self.writer.add_scalar(f"loss/{key}", value, self.iteration)
            self.writer.add_scalar("train/examples_per_s", rate, self.iteration)
            self.writer.add_scalar("train/lr", lr, self.iteration)
        if self.console is not None:
            self.console.print(self.console_line(means, rate, lr), highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> LoopTrainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
