"""``faceforge swap``: a source person (or several, each with a reference) into an image, folder or video."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import reported_errors
from faceforge.cli.progress import progress_bar

SourceArg = Annotated[
    Path, typer.Argument(help="Photo of the person whose face is put in.", show_default=False)
]
TargetArg = Annotated[Path, typer.Argument(help="Image, folder of images, or video to swap faces in.")]


def swap(
    source: SourceArg,
    target: TargetArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file (or folder, for a folder target).")
    ],
    more_sources: Annotated[
        list[Path] | None,
        typer.Option("--source", "-s", help="More photos of the same source person (identity is averaged)."),
    ] = None,
    all_faces: Annotated[
        bool, typer.Option("--all-faces", help="Swap every face, not only the largest.")
    ] = False,
    face_index: Annotated[
        int | None,
        typer.Option("--face-index", help="Swap only the N-th face, counting from 0, left to right."),
    ] = None,
    reference: Annotated[
        Path | None, typer.Option("--reference", "-r", help="Swap only the person who looks like this photo.")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="SOURCE_PHOTO=REFERENCE_PHOTO: one more source person and the target person they replace "
            "(repeatable; the main SOURCE then needs --reference).",
        ),
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="Identity distance under which a face counts as the reference person.")
    ] = 0.6,
    swapper: Annotated[str, typer.Option(help="Swapper: mesh (built in, no weights).")] = "mesh",
    mask: Annotated[str, typer.Option(help="Face mask: landmarks or box.")] = "landmarks",
    color: Annotated[str, typer.Option(help="Colour transfer: reinhard, histogram or none.")] = "reinhard",
    blend: Annotated[
        str, typer.Option(help="Blending: alpha (feathered) or poisson (seamless clone).")
    ] = "alpha",
    keep_mouth: Annotated[
        bool,
        typer.Option(
            "--keep-mouth/--no-keep-mouth", help="Keep the target's mouth interior (teeth, tongue)."
        ),
    ] = True,
    keep_eyes: Annotated[
        bool,
        typer.Option(
            "--keep-eyes/--no-keep-eyes", help="Keep the target's eyes, so gaze follows the target."
        ),
    ] = False,
    crf: Annotated[int, typer.Option(help="Video quality (x264/VP9 CRF; lower is better and larger).")] = 18,
    preset: Annotated[str, typer.Option(help="x264 speed preset (ultrafast … veryslow).")] = "veryfast",
    detect_every: Annotated[
        int, typer.Option(help="Run the face detector every N video frames; faces are tracked in between.")
    ] = 10,
    smoothing: Annotated[
        bool, typer.Option("--smoothing/--no-smoothing", help="Smooth landmarks over time (video).")
    ] = True,
    watermark: Annotated[bool, typer.Option("--watermark", help="Add a visible 'synthetic' mark.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite/--skip-existing", help="Folders: redo images already in the output.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
) -> None:
    """Swap a face into an image, a folder of images or a video. No training, no downloads."""
    from faceforge.analysis.smoothing import SmoothingOptions
    from faceforge.api import swap_path
    from faceforge.compose.compositor import ComposeOptions
    from faceforge.config import SwapConfig, VideoOptions
    from faceforge.pipeline.image import FolderReport
    from faceforge.pipeline.selection import SelectionOptions
    from faceforge.pipeline.video import VideoReport

    console = Console(stderr=True)
    with reported_errors(debug, console):
        if sum([all_faces, face_index is not None, reference is not None]) > 1:
            raise ValueError("Use only one of --all-faces, --face-index and --reference.")
        people = [[source, *(more_sources or [])]]
        references = [reference] if reference is not None else None
        for item in mapping or []:
            if references is None:
                raise ValueError("--map needs --reference for the main source too.")
            src, sep, ref = item.partition("=")
            if not sep or not src or not ref:
                raise ValueError(f"--map takes SOURCE_PHOTO=REFERENCE_PHOTO, got '{item}'.")
            people.append([Path(src)])
            references.append(Path(ref))
        mode = (
            "all"
            if all_faces
            else "index"
            if face_index is not None
            else "reference"
            if references
            else "largest"
        )
        base = SwapConfig()
        config = SwapConfig(
            swapper=swapper,
            selection=SelectionOptions(mode=mode, face_index=face_index or 0, threshold=threshold),
            compose=ComposeOptions(
                mask=mask, color=color, blend=blend, keep_mouth=keep_mouth, keep_eyes=keep_eyes
            ),
            tracking=replace(base.tracking, smoothing=replace(SmoothingOptions(), enabled=smoothing)),
            video=VideoOptions(crf=crf, preset=preset, detect_every=detect_every),
            watermark=watermark,
            overwrite=overwrite,
        )
        with progress_bar("swapping", "frames" if target.is_file() else "images", not quiet) as progress:
            result = swap_path(people, target, output, config, references, progress)
        if isinstance(result, VideoReport):
            console.print(
                f"wrote {output}: {result.frames} frames, a face swapped in {result.frames_swapped} of them."
            )
        elif isinstance(result, FolderReport):
            console.print(
                f"wrote {len(result.swapped)} images to {output}"
                + (f", {len(result.skipped)} already there" if result.skipped else "")
                + (f", {len(result.failed)} failed:" if result.failed else ".")
            )
            for path, reason in result.failed:
                console.print(f"  {path.name}: {reason}", highlight=False)
            if not result.swapped and not result.skipped:
                raise typer.Exit(4)
        else:
            console.print(f"wrote {output}: {result} face(s) swapped.")
