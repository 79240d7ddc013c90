"""``faceforge train-restorer FACESET -o MODEL_DIR``: train faceforge's own face restorer (no download) on a
faceset's crops, degraded by down-scaling, blur, noise, JPEG and slight deformation; ``swap --enhance
face=MODEL_DIR`` uses it. Run it again on the same MODEL_DIR to resume where it stopped (the network's
width, depth and crop are fixed by the folder). Multi-GPU: ``torchrun --nproc-per-node=N -m faceforge
train-restorer ...``. See docs/enhance.md.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.train_options import (
    Amp,
    AmpOption,
    Device,
    InjectNanAt,
    Iterations,
    KeepSnapshots,
    LogEvery,
    PreviewEvery,
    Quiet,
    Rollback,
    SaveEvery,
    Seed,
    SnapshotEvery,
    Tensorboard,
    Workers,
    end_run,
    run_hooks,
    run_trainer,
)
from faceforge.enhance.restorer_shape import RestorerShape
from faceforge.training.restorer.config import RestorerConfig

if TYPE_CHECKING:
    from faceforge.training.loop import TrainHooks, TrainReport

_DEFAULTS = RestorerConfig()
_SHAPE = _DEFAULTS.net
_AMP = Amp(_DEFAULTS.amp)


def train_restorer(
    faceset: Annotated[Path, typer.Argument(help="Faceset folder (from `faceforge faces extract`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder (created, or resumed).")],
    width: Annotated[int, typer.Option(help="Channels at full resolution (the body has twice as many).")] = (
        _SHAPE.width
    ),
    blocks: Annotated[int, typer.Option(help="Residual blocks at half resolution.")] = _SHAPE.blocks,
    size: Annotated[
        int, typer.Option(help="Training crop side in px (0: the faceset's own).")
    ] = _DEFAULTS.size,
    holdout: Annotated[
        int, typer.Option(help="Faces kept out of training, spread over the faceset (to measure on).")
    ] = _DEFAULTS.holdout,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = _DEFAULTS.optimiser.lr,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", help="Faces per batch (per process).")
    ] = _DEFAULTS.batch_size,
    iterations: Iterations = _DEFAULTS.iterations,
    save_every: SaveEvery = _DEFAULTS.save_every,
    snapshot_every: SnapshotEvery = _DEFAULTS.snapshot_every,
    keep_snapshots: KeepSnapshots = _DEFAULTS.keep_snapshots,
    preview_every: PreviewEvery = _DEFAULTS.preview_every,
    log_every: LogEvery = _DEFAULTS.log_every,
    amp: AmpOption = _AMP,
    seed: Seed = _DEFAULTS.seed,
    workers: Workers = _DEFAULTS.workers,
    device: Device = None,
    rollback: Rollback = False,
    tensorboard: Tensorboard = True,
    inject_nan_at: InjectNanAt = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Train faceforge's face restorer on a faceset (for `swap --enhance face=MODEL_DIR`)."""
    console = Console(stderr=True)
    with reported_errors(debug, console):
        from faceforge.errors import InputError
        from faceforge.outputs import check_output

        if not faceset.is_dir():
            raise InputError(f"The faceset folder {faceset} does not exist.")
        check_output(output, (faceset,), overwrite=True)  # a model folder resumes
        config = RestorerConfig(
            net=RestorerShape(width, blocks),
            optimiser=dataclasses.replace(_DEFAULTS.optimiser, lr=lr),
            size=size, holdout=holdout, batch_size=batch_size, iterations=iterations,
            save_every=save_every, snapshot_every=snapshot_every, keep_snapshots=keep_snapshots,
            preview_every=preview_every, log_every=log_every, amp=amp.value, seed=seed, workers=workers,
        )  # fmt: skip
        hooks = run_hooks(inject_nan_at)
        report, is_main = _run(config, faceset, output, device, rollback, quiet, tensorboard, hooks)
        end_run(console, report, output, is_main)


def _run(
    config: RestorerConfig, faceset: Path, output: Path, device: str | None, rollback: bool, quiet: bool,
    tensorboard: bool, hooks: TrainHooks,
) -> tuple[TrainReport, bool]:  # fmt: skip
    from faceforge.training.restorer.trainer import RestorerTrainer

    return run_trainer(
        lambda on, ctx, out: RestorerTrainer(
            config, faceset, output, device=on, ctx=ctx, rollback=rollback, console=out,
            tensorboard=tensorboard, hooks=hooks,
        ),
        output, device, quiet,
    )  # fmt: skip
