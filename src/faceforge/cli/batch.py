"""``faceforge batch swap|convert|extract``: many inputs (files, folders, CSV manifests) on Ray workers.

``--workers N`` starts a local Ray instance with N workers for the job; ``--ray ADDRESS`` uses an existing
cluster (``auto``: the one ``ray start`` made on this machine); ``--workers 0`` runs in this process.
Exit codes: 0 every task done, 9 some inputs failed (each listed with its sentence; the rest are done and
a rerun redoes only the failed ones), and the usual codes when the job cannot start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.progress import progress_bar
from faceforge.scale import CutKind

if TYPE_CHECKING:
    from faceforge.config import SwapConfig
    from faceforge.scale.batch import BatchReport
    from faceforge.scale.runner import Cluster
    from faceforge.scale.workers import SwapSpec

#: Some inputs failed; the others finished (the job record says which).
PARTIAL = 9

app = typer.Typer(
    help="Run swap, convert or extract over many inputs on Ray workers (a local instance or a cluster); "
    "a rerun resumes where a job stopped.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Inputs = Annotated[
    list[Path], typer.Argument(help="Images, videos, folders (searched recursively) or CSV manifests.")
]
Workers = Annotated[
    int, typer.Option(help="Workers: Ray actors (each loads the models once); 0 runs in this process.")
]
Address = Annotated[
    str | None,
    typer.Option("--ray", help="Address of an existing Ray cluster (host:port, or auto); default: local."),
]
Cpus = Annotated[float, typer.Option(help="CPUs Ray reserves for each worker.")]
Gpus = Annotated[float, typer.Option(help="GPUs Ray reserves for each worker (fractions share one).")]
Job = Annotated[
    Path | None,
    typer.Option(help="The job record (SQLite); default: .faceforge-job.sqlite in the output."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
Segments = Annotated[
    float,
    typer.Option(
        help="Cut each video at its first scene cut (or keyframe, see --cuts) after every this many "
        "seconds and swap the segments on separate workers (0: each video is one task; with --cuts "
        "scenes a video without a scene cut stays one task)."
    ),
]
Cuts = Annotated[
    CutKind,
    typer.Option(
        help="Where --segment-seconds may cut: scenes (only at scene cuts; every frame renders as one run "
        "would) or keyframes (at the first keyframe after every so many seconds, so one long shot is cut "
        "too; rendered pixels differ slightly after each cut, frames, timestamps and audio are exact).",
    ),
]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="Swap settings from a TOML or JSON file (see config show).")
]
Assignments = Annotated[
    list[str] | None,
    typer.Option("--option", help="One swap setting, KEY=VALUE (e.g. video.crf=23); repeatable."),
]


def _cluster(workers: int, address: str | None, cpus: float, gpus: float) -> Cluster:
    from faceforge.scale.runner import Cluster

    return Cluster(workers=workers, address=address, cpus=cpus, gpus=gpus)


def _swap_config(config_file: Path | None, assignments: list[str] | None) -> SwapConfig:
    from faceforge.config import SwapConfig, configured, swap_declarations
    from faceforge.options import parse_assignments, read_config_file

    declarations = swap_declarations()  # SwapConfig's options and each swapper's (swappers.NAME.KEY)
    values = read_config_file(declarations, config_file) if config_file is not None else {}
    values.update(parse_assignments(declarations, assignments or []))
    return configured(SwapConfig(), values)


def _finish(report: BatchReport, console: Console, what: str) -> None:
    """Say what the job did and list each failed task with its sentence; exit 9 when any failed."""
    console.print(
        f"{what}: {len(report.done)} done"
        + (f", {len(report.skipped)} already done" if report.skipped else "")
        + (f", {len(report.failed)} failed:" if report.failed else "."),
        highlight=False,
        soft_wrap=True,
    )
    for key, reason in report.failed:
        console.print(f"  {key}: {reason}", highlight=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(PARTIAL)  # outside reported_errors, which would take it for a bug


def _swap_job(
    name: str,
    inputs: list[Path],
    output: Path,
    spec: Callable[[], SwapSpec],
    segment_seconds: float,
    cuts: CutKind,
    cluster: tuple[int, str | None, float, float],
    job: Path | None,
    quiet: bool,
    debug: bool,
) -> None:
    """What `batch swap` and `batch convert` share once each has said how its workers are set up: the
    spec (built inside the error report, so a bad option is one sentence), the cluster, the bar, the job."""
    from faceforge.scale.batch import batch_swap

    console = Console(stderr=True)
    with reported_errors(debug, console):
        built = spec()
        with progress_bar(name, "frames", not quiet) as progress:
            report = batch_swap(
                inputs, output, built, _cluster(*cluster), segment_seconds, job, progress, cuts
            )
    _finish(report, console, f"{name} into {output}")


@app.command("swap")
def swap(
    source: Annotated[Path, typer.Argument(help="Photo of the person whose face is put in.")],
    inputs: Inputs,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    more_sources: Annotated[
        list[Path] | None, typer.Option("--source", "-s", help="More photos of the same source person.")
    ] = None,
    reference: Annotated[
        Path | None, typer.Option("--reference", "-r", help="Swap only the person who looks like this photo.")
    ] = None,
    segment_seconds: Segments = 0.0,
    cuts: Cuts = CutKind.scenes,
    config_file: ConfigFile = None,
    option: Assignments = None,
    workers: Workers = 2,
    ray_address: Address = None,
    cpus_per_worker: Cpus = 1.0,
    gpus_per_worker: Gpus = 0.0,
    job: Job = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Swap a source person into every input, on Ray workers; outputs keep the inputs' names."""
    from faceforge.scale.workers import SwapSpec

    def spec() -> SwapSpec:
        references = [reference] if reference is not None else None
        return SwapSpec([[source, *(more_sources or [])]], _swap_config(config_file, option), references)

    cluster = (workers, ray_address, cpus_per_worker, gpus_per_worker)
    _swap_job("batch swap", inputs, output, spec, segment_seconds, cuts, cluster, job, quiet, debug)


@app.command("convert")
def convert(
    inputs: Inputs,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    model: Annotated[Path, typer.Option("--model", help="A model folder from `faceforge train`.")],
    direction: Annotated[str, typer.Option(help="a2b puts B's face on A, b2a the reverse.")] = "a2b",
    checkpoint: Annotated[
        str, typer.Option(help="The latest save, the best-loss one or the last snapshot.")
    ] = "latest",
    learned_mask: Annotated[
        bool,
        typer.Option(
            "--learned-mask/--no-learned-mask", help="Narrow the mask with the model's learned mask, if any."
        ),
    ] = True,
    segment_seconds: Segments = 0.0,
    cuts: Cuts = CutKind.scenes,
    config_file: ConfigFile = None,
    option: Assignments = None,
    workers: Workers = 2,
    ray_address: Address = None,
    cpus_per_worker: Cpus = 1.0,
    gpus_per_worker: Gpus = 0.0,
    job: Job = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Convert every input with a trained pair model, on Ray workers."""
    from faceforge.errors import OptionError
    from faceforge.scale.workers import SwapSpec

    def spec() -> SwapSpec:
        if direction not in ("a2b", "b2a"):
            raise OptionError(f"--direction is a2b or b2a, not '{direction}'.")
        if checkpoint not in ("latest", "best", "snapshot"):
            raise OptionError(f"--checkpoint is latest, best or snapshot, not '{checkpoint}'.")
        config = _swap_config(config_file, option)
        return SwapSpec([], config, None, model, direction, checkpoint, learned_mask)

    cluster = (workers, ray_address, cpus_per_worker, gpus_per_worker)
    _swap_job("batch convert", inputs, output, spec, segment_seconds, cuts, cluster, job, quiet, debug)


@app.command("extract")
def extract(
    inputs: Inputs,
    output: Annotated[Path, typer.Option("--output", "-o", help="The faceset folder (created or added to).")],
    reference: Annotated[
        list[Path] | None,
        typer.Option("--reference", "-r", help="Keep only this person's faces (repeatable: more photos)."),
    ] = None,
    size: Annotated[int, typer.Option(help="Crop size in pixels.")] = 256,
    every: Annotated[int, typer.Option(help="Take every Nth video frame.")] = 1,
    workers: Workers = 2,
    ray_address: Address = None,
    cpus_per_worker: Cpus = 1.0,
    gpus_per_worker: Gpus = 0.0,
    job: Job = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Extract the faces of every input into one faceset, on Ray workers (shards merged by this process)."""
    from faceforge.facesets.extract import ExtractOptions
    from faceforge.scale.batch import batch_extract
    from faceforge.scale.workers import ExtractSpec

    console = Console(stderr=True)
    with reported_errors(debug, console):
        spec = ExtractSpec(ExtractOptions(size=size, every=every), list(reference or []))
        cluster = _cluster(workers, ray_address, cpus_per_worker, gpus_per_worker)
        with progress_bar("batch extract", "frames", not quiet) as progress:
            report = batch_extract(inputs, output, spec, cluster, job, progress)
    _finish(report, console, f"batch extract into {output} ({report.faces_added} faces added)")
