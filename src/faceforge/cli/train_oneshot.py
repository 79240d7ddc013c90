"""``faceforge train-oneshot`` and ``faceforge prepare-oneshot``: GHOST's AEI-Net recipe, end to end.

``prepare-oneshot SRC_DIR -o DATASET`` turns photos (one sub-folder per person, or one flat folder) into the
aligned 256-px crops AEI-Net trains and swaps on; ``train-oneshot DATASET -o MODEL_DIR`` trains a generator
that ``swap --swapper ghost --weights MODEL_DIR`` uses. Run the training again on the same MODEL_DIR to
resume exactly where it stopped; run-level options given again (iterations, intervals, loss weights,
stage 2, learning rate, workers, AMP) apply to the resumed run, the rest is fixed by the folder.
Multi-GPU: ``torchrun --nproc-per-node=N -m faceforge train-oneshot ...``. Defaults are
:data:`faceforge.training.oneshot.config.DEFAULTS` (GHOST's); see docs/oneshot-training.md.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, overload

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
    run_trainer,
)
from faceforge.errors import OptionError
from faceforge.nets.aeinet_config import Backbone
from faceforge.training.oneshot.config import DEFAULTS, IDENTITY_DIMS, RESUMABLE_CHANGES
from faceforge.training.optim_config import ScheduleName

Identity = StrEnum("Identity", {k: k for k in IDENTITY_DIMS})  # type: ignore[misc]

_G, _D, _W, _O = DEFAULTS.generator, DEFAULTS.discriminator, DEFAULTS.losses, DEFAULTS.optimiser
_IDENTITY, _SCHEDULE, _AMP = Identity(DEFAULTS.identity), _O.schedule, Amp(DEFAULTS.amp)

# CLI parameter -> (OneshotConfig field, its sub-field or None): what a resumed run may change or must keep.
_FIELDS: dict[str, tuple[str, str | None]] = {
    "backbone": ("generator", "backbone"), "blocks": ("generator", "num_blocks"),
    "width": ("generator", "width"), "identity": ("identity", None),
    "identity_weights": ("identity_weights", None), "d_ndf": ("discriminator", "ndf"),
    "d_layers": ("discriminator", "n_layers"), "d_scales": ("discriminator", "num_d"),
    "adv_weight": ("losses", "adv"), "attr_weight": ("losses", "attr"), "id_weight": ("losses", "id"),
    "rec_weight": ("losses", "rec"), "eyes_weight": ("losses", "eyes"),
    "distill_weight": ("losses", "distill"), "distill_features_weight": ("losses", "distill_features"),
    "stage2_at": ("stage2_at", None), "discr_force": ("discr_force", None),
    "same_person": ("same_person", None), "min_image": ("min_size", None), "jitter": ("jitter", None),
    "teacher": ("teacher", None), "lr": ("optimiser", "lr"), "betas": ("optimiser", "betas"),
    "weight_decay": ("optimiser", "weight_decay"), "schedule": ("optimiser", "schedule"),
    "step_size": ("optimiser", "step_size"), "step_gamma": ("optimiser", "step_gamma"),
    "clip": ("optimiser", "clip"), "batch_size": ("batch_size", None), "iterations": ("iterations", None),
    "save_every": ("save_every", None), "snapshot_every": ("snapshot_every", None),
    "keep_snapshots": ("keep_snapshots", None), "preview_every": ("preview_every", None),
    "log_every": ("log_every", None), "amp": ("amp", None), "seed": ("seed", None),
    "workers": ("workers", None),
}  # fmt: skip


@overload
def parse_numbers(text: str, count: Literal[2], option: str) -> tuple[float, float]: ...
@overload
def parse_numbers(text: str, count: Literal[4], option: str) -> tuple[float, float, float, float]: ...
def parse_numbers(text: str, count: int, option: str) -> tuple[float, ...]:
    """``"0.2,0.2,0.2,0.01"`` -> four floats; anything else is refused naming ``option``."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise OptionError(f"{option} takes {count} numbers separated by commas, got '{text}'.")
    return values


def _plain(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:g}" for v in values)


def train_oneshot(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Argument(help="Dataset of aligned crops (made by `prepare-oneshot`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder (created, or resumed).")],
    backbone: Annotated[Backbone, typer.Option(help="Attribute encoder.")] = _G.backbone,
    blocks: Annotated[int, typer.Option(help="AAD layers per AAD ResBlk (GHOST: 1-3).")] = _G.num_blocks,
    width: Annotated[int, typer.Option(help="Channels of the first encoder level (GHOST: 32).")] = _G.width,
    identity: Annotated[
        Identity,
        typer.Option(
            "--identity-net", help="Frozen identity encoder (dlib ships offline; arcface needs weights)."
        ),
    ] = _IDENTITY,
    identity_weights: Annotated[
        str | None, typer.Option(help="Identity encoder weights: a file or a `faceforge weights` name.")
    ] = DEFAULTS.identity_weights,
    d_ndf: Annotated[int, typer.Option(help="Discriminator filters of its first layer.")] = _D.ndf,
    d_layers: Annotated[int, typer.Option(help="Discriminator strided layers per scale.")] = _D.n_layers,
    d_scales: Annotated[int, typer.Option(help="Discriminator scales.")] = _D.num_d,
    adv_weight: Annotated[
        float, typer.Option(help="Adversarial loss weight (0: no discriminator).")
    ] = _W.adv,
    attr_weight: Annotated[float, typer.Option(help="Attribute loss weight.")] = _W.attr,
    id_weight: Annotated[float, typer.Option(help="Identity loss weight.")] = _W.id,
    rec_weight: Annotated[float, typer.Option(help="Reconstruction loss weight.")] = _W.rec,
    eyes_weight: Annotated[float, typer.Option(help="Eye (gaze) loss weight, from stage 2 on.")] = _W.eyes,
    stage2_at: Annotated[
        int, typer.Option(help="Stage 2 (eye loss on) starts after this many iterations (0: at once).")
    ] = DEFAULTS.stage2_at,
    teacher: Annotated[
        str | None,
        typer.Option(help="Distil this generator: a G .pth, a weights name or a train-oneshot folder."),
    ] = DEFAULTS.teacher,
    distill_weight: Annotated[float, typer.Option(help="Student-teacher output L2 weight.")] = _W.distill,
    distill_features_weight: Annotated[
        float, typer.Option(help="Student-teacher feature distance weight (the teacher's encoder).")
    ] = _W.distill_features,
    discr_force: Annotated[
        bool,
        typer.Option(
            "--discr-force/--no-discr-force", help="Skip D steps while G's adversarial loss is high."
        ),
    ] = DEFAULTS.discr_force,
    same_person: Annotated[
        float, typer.Option(help="Share of pairs whose target is the same person.")
    ] = DEFAULTS.same_person,
    min_image: Annotated[
        int, typer.Option(help="Leave out images whose shorter side is smaller (px).")
    ] = DEFAULTS.min_size,
    jitter: Annotated[str, typer.Option(help="Colour jitter: brightness,contrast,saturation,hue.")] = _plain(
        DEFAULTS.jitter
    ),
    lr: Annotated[float, typer.Option(help="Learning rate of G and D.")] = _O.lr,
    betas: Annotated[str, typer.Option(help="Adam betas.")] = _plain(_O.betas),
    weight_decay: Annotated[float, typer.Option(help="Weight decay.")] = _O.weight_decay,
    schedule: Annotated[
        ScheduleName, typer.Option(help="Learning-rate schedule (step: GHOST's optional StepLR).")
    ] = _SCHEDULE,
    step_size: Annotated[int, typer.Option(help="step schedule: iterations per step.")] = _O.step_size,
    step_gamma: Annotated[float, typer.Option(help="step schedule: rate factor per step.")] = _O.step_gamma,
    clip: Annotated[float, typer.Option(help="Clip each network's gradient norm (0: off).")] = _O.clip,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", help="Pairs per batch (per process).")
    ] = DEFAULTS.batch_size,
    iterations: Iterations = DEFAULTS.iterations,
    save_every: SaveEvery = DEFAULTS.save_every,
    snapshot_every: SnapshotEvery = DEFAULTS.snapshot_every,
    keep_snapshots: KeepSnapshots = DEFAULTS.keep_snapshots,
    preview_every: PreviewEvery = DEFAULTS.preview_every,
    log_every: LogEvery = DEFAULTS.log_every,
    amp: AmpOption = _AMP,
    seed: Seed = DEFAULTS.seed,
    workers: Workers = DEFAULTS.workers,
    device: Device = None,
    rollback: Rollback = False,
    tensorboard: Tensorboard = True,
    inject_nan_at: InjectNanAt = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Train a one-shot face swapper (GHOST's AEI-Net recipe) on a prepared dataset; resumes MODEL_DIR."""
    console = Console(stderr=True)
    with reported_errors(debug, console):
        from faceforge.errors import InputError
        from faceforge.models.oneshot import is_oneshot_folder
        from faceforge.nets.aeinet import AEINetConfig
        from faceforge.outputs import check_output
        from faceforge.training.checkpoint import CheckpointStore
        from faceforge.training.distributed import checked_device
        from faceforge.training.oneshot.config import DiscriminatorConfig, LossWeights, OneshotConfig
        from faceforge.training.oneshot.model_io import read_training_config

        checked_device(device)
        if not dataset.is_dir():
            raise InputError(f"The dataset folder {dataset} does not exist.")
        check_output(output, (dataset,), overwrite=True)  # a model folder resumes
        given = OneshotConfig(
            generator=AEINetConfig(backbone, blocks, IDENTITY_DIMS[identity.value], width),
            discriminator=DiscriminatorConfig(d_ndf, d_layers, d_scales),
            identity=identity.value, identity_weights=identity_weights,
            losses=LossWeights(adv_weight, attr_weight, id_weight, rec_weight, eyes_weight, distill_weight,
                               distill_features_weight),
            optimiser=dataclasses.replace(
                _O, lr=lr, betas=parse_numbers(betas, 2, "--betas"), weight_decay=weight_decay,
                schedule=schedule, step_size=step_size, step_gamma=step_gamma, clip=clip,
            ),
            stage2_at=stage2_at, discr_force=discr_force, same_person=same_person, min_size=min_image,
            jitter=parse_numbers(jitter, 4, "--jitter"), teacher=teacher, batch_size=batch_size,
            iterations=iterations, save_every=save_every, snapshot_every=snapshot_every,
            keep_snapshots=keep_snapshots, preview_every=preview_every, log_every=log_every, amp=amp.value,
            seed=seed, workers=workers,
        )  # fmt: skip
        config = given
        store = CheckpointStore(output)
        if store.has_checkpoint() and store.read_index().latest is not None:  # what the trainer resumes
            if not is_oneshot_folder(output):
                raise InputError(f"{output} holds another kind of model; train into a new folder.")
            config = _resumed(ctx, read_training_config(output), given)
        hooks = run_hooks(inject_nan_at)
        report, is_main = _run(config, dataset, output, device, rollback, quiet, tensorboard, hooks)
        end_run(console, report, output, is_main)


def _run(
    config: Any, dataset: Path, output: Path, device: str | None, rollback: bool, quiet: bool,
    tensorboard: bool, hooks: Any,
) -> tuple[Any, bool]:  # fmt: skip
    from faceforge.training.oneshot.trainer import OneshotTrainer

    return run_trainer(
        lambda on, ctx, out: OneshotTrainer(
            config, dataset, output, device=on, ctx=ctx, rollback=rollback, console=out,
            tensorboard=tensorboard, hooks=hooks,
        ),
        output, device, quiet,
    )  # fmt: skip


def _resumed(ctx: typer.Context, stored: Any, given: Any) -> Any:
    """The stored configuration with the run-level options given on this command line; any other option
    given with a value other than the stored one is refused."""
    changes: dict[str, Any] = {}
    for name, (field, sub) in _FIELDS.items():
        if not given_on_command_line(ctx, name):
            continue
        new = getattr(given, field) if sub is None else getattr(getattr(given, field), sub)
        if field in RESUMABLE_CHANGES:
            current = changes.get(field, getattr(stored, field))
            changes[field] = new if sub is None else dataclasses.replace(current, **{sub: new})
            continue
        old = getattr(stored, field) if sub is None else getattr(getattr(stored, field), sub)
        if old != new:
            raise kept_setting_error(name)
    return stored.resumed_with(changes)


def prepare_oneshot(
    source: Annotated[Path, typer.Argument(help="Photos: one sub-folder per person, or a flat folder.")],
    dataset: Annotated[
        Path, typer.Option("--output", "-o", help="Dataset folder to write (resumed when it exists).")
    ],
    poses: Annotated[
        bool, typer.Option("--poses/--no-poses", help="GHOST's pose templates (else frontal only).")
    ] = True,
    min_face: Annotated[int, typer.Option(help="Skip faces smaller than this (source px).")] = 64,
    quality: Annotated[int, typer.Option(help="JPEG quality of the crops.")] = 95,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    debug: Debug = False,
) -> None:
    """Crop photos into a one-shot training dataset (GHOST's 256-px crops, identity folders kept)."""
    console = Console(stderr=True)
    with reported_errors(debug, console):
        from faceforge.analysis.analyser import FaceAnalyser
        from faceforge.cli.progress import progress_bar
        from faceforge.outputs import OutputLock, check_output
        from faceforge.training.oneshot.prepare import PrepareOptions, prepare_dataset

        check_output(dataset, (source,), overwrite=True)  # a dataset folder resumes
        options = PrepareOptions(poses=poses, min_face=min_face, quality=quality)
        with (
            OutputLock(dataset),
            FaceAnalyser() as analyser,
            progress_bar("cropping", "photos", enabled=not quiet) as progress,
        ):
            report = prepare_dataset(source, dataset, analyser, options, progress)
        console.print(
            f"{report.crops} crops of {report.identities} identities written to {dataset}; "
            f"{report.no_face} photos without a usable face, {report.unreadable} unreadable; "
            f"{report.folders_done_before} identity folders were done before.",
            highlight=False,
            soft_wrap=True,
        )
