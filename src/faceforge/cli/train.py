"""``faceforge train``: train a pair model (shared encoder, one decoder per person) on two facesets.

Run it again on the same MODEL_DIR to resume exactly where it stopped; run-level options given again
(iterations, intervals, learning rate, clipping, workers, AMP) apply to the resumed run, while the model
layout, loss, augmentation, batch and seed are fixed by the folder. Multi-GPU: start it under
``torchrun --nproc-per-node=N -m faceforge train ...``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import nullcontext
from enum import StrEnum
from operator import attrgetter
from pathlib import Path
from typing import Annotated, Any

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
    given_on_command_line,
    kept_setting_error,
    run_hooks,
)
from faceforge.errors import OptionError
from faceforge.training.optim_config import OptimiserConfig, OptimiserName, ScheduleName

Arch = StrEnum("Arch", {k: k for k in ("lightweight", "original", "iae", "dfaker", "custom")})  # type: ignore[misc]
_OPT = OptimiserConfig()
Init = StrEnum("Init", {k: k for k in ("he", "icnr", "conv_aware")})  # type: ignore[misc]

_RUN_OPTIONS = {  # CLI name -> TrainConfig field a resumed run may change
    "iterations": "iterations",
    "save_every": "save_every",
    "snapshot_every": "snapshot_every",
    "keep_snapshots": "keep_snapshots",
    "preview_every": "preview_every",
    "log_every": "log_every",
    "workers": "workers",
    "amp": "amp",
    "compile_model": "compile",
}
_OPTIMISER_RUN_OPTIONS = {"lr": "lr", "clip": "clip", "warmup": "warmup", "weight_decay": "weight_decay"}
# CLI name -> what it sets in a TrainConfig, for the options a resumed run keeps: given again, that value
# must equal the folder's (--width-scale: the widths it gives).
_KEPT: dict[str, Callable[[Any], object]] = {
    "arch": attrgetter("model.arch"),
    "width_scale": attrgetter("model.encoder_width", "model.decoder_width", "model.dense"),
    **{name: attrgetter(f"model.{name}") for name in (
        "input_size", "output_size", "encoder_width", "decoder_width", "dense", "learn_mask", "init")},
    "loss": attrgetter("loss.terms"),
    **{name: attrgetter(f"loss.{name}") for name in (
        "mask_weighting", "eye_multiplier", "mouth_multiplier", "mask_loss")},
    **{name: attrgetter(f"augment.{name}") for name in ("warp_to_landmarks", "flip")},
    "optimizer": attrgetter("optimiser.name"),
    "beta1": lambda config: config.optimiser.betas[0],
    "beta2": lambda config: config.optimiser.betas[1],
    "eps": attrgetter("optimiser.eps"),
    "schedule": attrgetter("optimiser.schedule"),
    "batch_size": attrgetter("batch_size"),
    "seed": attrgetter("seed"),
}  # fmt: skip


def parse_terms(text: str) -> tuple[tuple[str, float], ...]:
    """``ssim:1,ms-ssim:0.5`` -> ``(("ssim", 1.0), ("ms_ssim", 0.5))`` (a missing weight is 1; a name may be
    spelt with hyphens, as options are)."""
    terms = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, weight = item.partition(":")
        try:
            terms.append((name.strip().replace("-", "_"), float(weight) if weight else 1.0))
        except ValueError:
            raise OptionError(f"--loss takes NAME:WEIGHT items separated by commas, got '{item}'.") from None
    return tuple(terms)


def train(
    ctx: typer.Context,
    faceset_a: Annotated[Path, typer.Argument(help="Faceset of person A (the face to be replaced).")],
    faceset_b: Annotated[Path, typer.Argument(help="Faceset of person B (the face put in).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder (created, or resumed).")],
    arch: Annotated[Arch, typer.Option(help="Architecture; see docs/training.md.")] = Arch.original,  # type: ignore[attr-defined]
    width_scale: Annotated[
        float, typer.Option(help="Multiply encoder/decoder widths and dense size (0.25: weak hardware).")
    ] = 1.0,
    input_size: Annotated[
        int | None, typer.Option(help="Model input size (px) \\[default: the arch's].")
    ] = None,
    output_size: Annotated[
        int | None, typer.Option(help="Model output size (px) \\[default: the arch's].")
    ] = None,
    encoder_width: Annotated[int | None, typer.Option(help="Encoder width \\[default: the arch's].")] = None,
    decoder_width: Annotated[int | None, typer.Option(help="Decoder width \\[default: the arch's].")] = None,
    dense: Annotated[int | None, typer.Option(help="Bottleneck size \\[default: the arch's].")] = None,
    learn_mask: Annotated[
        bool | None,
        typer.Option("--learn-mask/--no-learn-mask", help="Learn a face mask \\[default: the arch's]."),
    ] = None,
    init: Annotated[Init | None, typer.Option(help="Weight initialiser \\[default: the arch's].")] = None,
    loss: Annotated[
        str, typer.Option(help="Loss terms NAME:WEIGHT (ssim, ms-ssim, l1, mse).")
    ] = "ssim:1,l1:1",
    mask_weighting: Annotated[
        bool, typer.Option("--mask-weighting/--no-mask-weighting", help="Count the loss inside the face.")
    ] = True,
    eye_multiplier: Annotated[float, typer.Option(help="Loss emphasis on the eyes.")] = 3.0,
    mouth_multiplier: Annotated[float, typer.Option(help="Loss emphasis on the mouth.")] = 2.0,
    mask_loss: Annotated[float, typer.Option(help="Weight of the learned-mask loss.")] = 1.0,
    warp_to_landmarks: Annotated[
        float,
        typer.Option(help="Probability of warping to the other person's landmarks instead of the grid."),
    ] = 0.0,
    flip: Annotated[float, typer.Option(help="Probability of a horizontal flip.")] = 0.5,
    optimizer: Annotated[OptimiserName, typer.Option(help="Optimiser.")] = "adam",
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 5e-5,
    beta1: Annotated[float, typer.Option(help="First moment decay.")] = 0.5,
    beta2: Annotated[float, typer.Option(help="Second moment decay.")] = 0.999,
    eps: Annotated[float, typer.Option(help="Epsilon (Adam family).")] = 1e-7,
    weight_decay: Annotated[float, typer.Option(help="Weight decay.")] = 0.0,
    warmup: Annotated[int, typer.Option(help="Warm-up iterations (linear).")] = 0,
    clip: Annotated[float, typer.Option(help="Clip the gradient norm to this (0: off).")] = 0.0,
    schedule: Annotated[
        ScheduleName,
        typer.Option(
            help=f"Learning-rate schedule after warm-up (step: x{_OPT.step_gamma:g} every {_OPT.step_size} "
            "iterations)."
        ),
    ] = "constant",
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", help="Faces of each person per batch.")
    ] = 16,
    iterations: Iterations = 100_000,
    save_every: SaveEvery = 250,
    snapshot_every: SnapshotEvery = 5_000,
    keep_snapshots: KeepSnapshots = 3,
    preview_every: PreviewEvery = 250,
    log_every: LogEvery = 10,
    amp: AmpOption = Amp.auto,  # type: ignore[attr-defined]
    seed: Seed = 0,
    workers: Workers = 2,
    compile_model: Annotated[
        bool, typer.Option("--compile/--no-compile", help="torch.compile the model.")
    ] = False,
    device: Device = None,
    rollback: Rollback = False,
    tensorboard: Tensorboard = True,
    inject_nan_at: InjectNanAt = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Train a personal swap model on facesets A and B (resumes when MODEL_DIR holds one)."""
    console = Console(stderr=True)
    with reported_errors(debug, console):
        from faceforge.errors import InputError
        from faceforge.nets.autoencoders import ARCHITECTURES, AutoencoderConfig, scaled
        from faceforge.outputs import OutputLock, check_output
        from faceforge.training.augment import AugmentOptions
        from faceforge.training.checkpoint import CheckpointStore
        from faceforge.training.config import TrainConfig
        from faceforge.training.distributed import checked_device, device_for, init_distributed, shutdown
        from faceforge.training.losses import LossConfig
        from faceforge.training.trainer import Trainer

        checked_device(device)
        for path in (faceset_a, faceset_b):
            if not path.is_dir():
                raise InputError(f"The faceset {path} does not exist.")
        check_output(output, (faceset_a, faceset_b), overwrite=True)  # a model folder resumes
        model = ARCHITECTURES[arch.value]
        if width_scale != 1.0:
            model = scaled(model, width_scale)
        overrides = {
            "input_size": input_size, "output_size": output_size, "encoder_width": encoder_width,
            "decoder_width": decoder_width, "dense": dense, "learn_mask": learn_mask,
            "init": init.value if init else None,
        }  # fmt: skip
        model = AutoencoderConfig.from_dict(
            {**model.to_dict(), **{k: v for k, v in overrides.items() if v is not None}}
        )
        config = TrainConfig(
            model=model,
            loss=LossConfig(parse_terms(loss), mask_weighting, eye_multiplier, mouth_multiplier, mask_loss),
            augment=dataclasses.replace(AugmentOptions(), flip=flip, warp_to_landmarks=warp_to_landmarks),
            optimiser=OptimiserConfig(
                optimizer, lr, (beta1, beta2), eps, weight_decay, warmup, clip, schedule
            ),
            batch_size=batch_size, iterations=iterations, save_every=save_every,
            snapshot_every=snapshot_every, keep_snapshots=keep_snapshots, preview_every=preview_every,
            log_every=log_every, amp=amp.value, seed=seed, workers=workers, compile=compile_model,
        )  # fmt: skip
        store = CheckpointStore(output)
        if store.has_checkpoint():
            config = _resumed(ctx, TrainConfig.from_dict(store.read_config()), config)
        elif rollback:
            raise InputError(f"{output} holds no checkpoint to roll back.")

        hooks = run_hooks(inject_nan_at)
        dist_ctx = init_distributed()
        try:
            out = Console() if dist_ctx.is_main and not quiet else None
            with (
                OutputLock(output) if dist_ctx.is_main else nullcontext(),
                Trainer(
                    config, faceset_a, faceset_b, output, device=device_for(dist_ctx, device),
                    ctx=dist_ctx, rollback=rollback, console=out, tensorboard=tensorboard, hooks=hooks,
                ) as trainer,
            ):  # fmt: skip
                report = trainer.run()
        finally:
            shutdown(dist_ctx)
        end_run(console, report, output, dist_ctx.is_main)


def _resumed(ctx: typer.Context, stored: Any, given: Any) -> Any:
    """The stored configuration with the run-level options given on this command line; any other option
    given with a value other than the stored one is refused."""

    def explicit(name: str) -> bool:
        return given_on_command_line(ctx, name)

    for name, value_of in _KEPT.items():
        if explicit(name) and value_of(given) != value_of(stored):
            raise kept_setting_error(name)
    changes = {field: getattr(given, field) for name, field in _RUN_OPTIONS.items() if explicit(name)}
    opt_changes = {
        field: getattr(given.optimiser, field)
        for name, field in _OPTIMISER_RUN_OPTIONS.items()
        if explicit(name)
    }
    if opt_changes:
        changes["optimiser"] = dataclasses.replace(stored.optimiser, **opt_changes)
    return stored.resumed_with(changes)
