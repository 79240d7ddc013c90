"""What ``faceforge train`` and ``faceforge train-oneshot`` share: the declarations of their common
options (each command keeps its own defaults), whether an option was given, the NaN test hook and the
line that ends a run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import INTERRUPTED, TERMINATED
from faceforge.errors import OptionError
from faceforge.training.run_settings import AMP_MODES

if TYPE_CHECKING:
    import torch

    from faceforge.training.distributed import DistContext
    from faceforge.training.loop import LoopTrainer, TrainHooks, TrainReport

Amp = StrEnum("Amp", {k: k for k in AMP_MODES})  # type: ignore[misc]

AmpOption = Annotated[
    Amp,
    typer.Option(
        help="Mixed precision. auto: bfloat16 on CUDA (float16 with loss scaling where the GPU lacks it), "
        "bfloat16 on CPUs that compute it natively (AMX, AVX-512 BF16), else off.",
    ),
]
Iterations = Annotated[int, typer.Option("--iterations", "-n", help="Train until this iteration.")]
SaveEvery = Annotated[int, typer.Option(help="Save every N iterations.")]
SnapshotEvery = Annotated[int, typer.Option(help="Keep a snapshot every N iterations (0: off).")]
KeepSnapshots = Annotated[int, typer.Option(help="Snapshots kept.")]
PreviewEvery = Annotated[int, typer.Option(help="Preview grid every N iterations (0: off).")]
LogEvery = Annotated[int, typer.Option(help="Console line every N iterations.")]
Seed = Annotated[int, typer.Option(help="Seed of initialisation, data order and augmentation.")]
Workers = Annotated[int, typer.Option(help="Background data-loading processes.")]
Device = Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 \\[default: CUDA when present].")]
Rollback = Annotated[
    bool, typer.Option("--rollback", help="Resume from the last snapshot (after a NaN stop).")
]
Tensorboard = Annotated[bool, typer.Option("--tensorboard/--no-tensorboard", help="Write logs/.")]
InjectNanAt = Annotated[int | None, typer.Option(hidden=True)]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No console lines.")]


def given_on_command_line(ctx: typer.Context, name: str) -> bool:
    """Whether the option ``name`` was given (on the command line or by its environment variable) rather
    than left at its default."""
    source = ctx.get_parameter_source(name)
    return getattr(source, "name", "") in ("COMMANDLINE", "ENVIRONMENT")


def kept_setting_error(name: str) -> OptionError:
    """The refusal of option ``name`` given on a resumed run with another value than the folder's."""
    return OptionError(
        f"--{name.replace('_', '-')} differs from the settings this model folder was trained with; "
        "a resumed run keeps them (train into a new folder to change them)."
    )


def run_hooks(inject_nan_at: int | None) -> TrainHooks:
    """The loop's hooks: none, or (``--inject-nan-at``, for tests) a NaN loss at that iteration."""
    from faceforge.training.loop import TrainHooks

    hooks = TrainHooks()
    if inject_nan_at is not None:
        import torch

        hooks.loss = lambda it, value: value * torch.nan if it == inject_nan_at else value
    return hooks


def end_run(console: Console, report: TrainReport, output: Path, is_main: bool) -> None:
    """Say where the run stopped (rank 0) and exit with 130 or 143 when a signal stopped it."""
    if is_main:
        console.print(
            f"iteration {report.iteration}: saved in {output} "
            f"({report.examples_per_s:.1f} examples/s over this run).",
            highlight=False,
            soft_wrap=True,
        )
    if report.interrupted:
        sys.exit(TERMINATED if report.interrupted == "SIGTERM" else INTERRUPTED)


def run_trainer(
    make_trainer: Callable[[torch.device, DistContext, Console | None], LoopTrainer],
    output: Path,
    device: str | None,
    quiet: bool,
) -> tuple[TrainReport, bool]:
    """Run one training on this process's rank (torchrun starts one per rank): rank 0 holds the output
    folder's lock and prints progress unless ``quiet``. ``make_trainer(device, ctx, console)`` builds the
    trainer; returns its report and whether this rank is the main one."""
    from faceforge.outputs import OutputLock
    from faceforge.training.distributed import device_for, init_distributed, shutdown

    dist_ctx = init_distributed()
    try:
        out = Console() if dist_ctx.is_main and not quiet else None
        with (
            OutputLock(output) if dist_ctx.is_main else nullcontext(),
            make_trainer(device_for(dist_ctx, device), dist_ctx, out) as trainer,
        ):
            return trainer.run(), dist_ctx.is_main
    finally:
        shutdown(dist_ctx)
