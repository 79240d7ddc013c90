"""``faceforge swap``: a source person (or several, each with a reference) into an image, folder or video.

Defaults and choices come from the option dataclasses and the registries, so they are declared once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from faceforge.cli.declared import (
    ConfigFile,
    DeclaredFlag,
    given_settings,
    with_declared_options,
    with_parameters,
)
from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.progress import progress_bar
from faceforge.config import SWAPPER_PREFIX, SwapConfig, configured, swap_declarations
from faceforge.errors import NoFaceError, OptionError, PartialError
from faceforge.options import read_config_file

if TYPE_CHECKING:
    from faceforge.pipeline.image import FolderReport

#: The help panel of each group of generated flags, by the first part of their keys.
PANELS = {
    "swapper": "Swapper",
    "swappers.": "Swapper options (each applies to the swappers named before its help)",
    "selection": "Which faces",
    "compose": "Compose",
    "analysis": "Analysis",
    "tracking": "Video",
    "video": "Video",
    "enhance": "Enhance",
    "watermark": "Output",
    "processors": "Output",
    "processor_options": "Output",
}


def extend(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with a flag per declared swap option (see ``main.LazyCommand.extend``), read when
    the command is loaded, so swappers and processors registered by then are offered."""
    return with_declared_options(command, swap_declarations(), PANELS)


#: Parameters of ``swap`` that ``convert`` does not take: the model's own face is put in, into the
#: faces chosen by size or position.
_NOT_CONVERT = {"target", "more_sources", "mapping", "reference"}


def extend_convert(command: Callable[..., Any]) -> Callable[..., Any]:
    """``convert``: the swap command with ``--model`` (required), one positional input, and none of the
    source photos' or the swappers' options (the model is the swapper)."""
    declarations = [  # no swapper choice, and no reference photo to match a threshold against
        d
        for d in swap_declarations()
        if d.key not in ("swapper", "selection.threshold") and not d.key.startswith(SWAPPER_PREFIX)
    ]
    run = with_declared_options(command, declarations, PANELS)
    parameters: list[inspect.Parameter] = []
    for param in inspect.signature(run).parameters.values():
        if param.name in _NOT_CONVERT:
            continue
        if param.name == "source":
            given = typer.Argument(
                help="The image, folder of images or video to convert.", show_default=False
            )
            param = param.replace(annotation=Annotated[Path, given], default=inspect.Parameter.empty)
        if param.name == "model":  # checked in the body, so a missing one is the command's own sentence
            needed = typer.Option("--model", help="The model folder from `faceforge train` (required).")
            param = param.replace(annotation=Annotated[Path | None, needed])
        parameters.append(param)
    return with_parameters(run, parameters)


def run_settings(
    ctx: typer.Context,
    flags: Sequence[DeclaredFlag],
    declared: Mapping[str, Any],
    config_file: Path | None,
) -> tuple[SwapConfig, dict[str, str]]:
    """The run's config: defaults, then ``config_file``, then the flags given; and where each setting
    that is not a default came from ("file" or "command line")."""
    from_file = read_config_file(swap_declarations(), config_file) if config_file is not None else {}
    file_swapper = from_file.get("swapper", SwapConfig().swapper)
    swapper_flags = [flag for flag in flags if flag.key == "swapper"]
    swapper_flag = given_settings(ctx, swapper_flags, declared, file_swapper).get("swapper", file_swapper)
    from_flags = given_settings(ctx, flags, declared, swapper_flag)
    config = configured(configured(SwapConfig(), from_file), from_flags)
    sources = {key: "file" for key in from_file} | {key: "command line" for key in from_flags}
    return config, sources


def _selection_given(
    mode: str, all_faces: bool, face_index: int | None, has_references: bool
) -> dict[str, Any]:
    """The selection settings the selection flags give; with none of them the configured ``mode`` stays
    (a config file's ``reference`` mode then asks for ``--reference``)."""
    chosen = [all_faces, face_index is not None, has_references]
    if sum(chosen) > 1:
        raise OptionError("Use only one of --all-faces, --face-index and --reference.")
    if all_faces:
        return {"mode": "all"}
    if face_index is not None:
        return {"mode": "index", "face_index": face_index}
    if has_references:
        return {"mode": "reference"}
    return {"mode": mode}


def parse_mapping(items: list[str]) -> list[tuple[Path, Path]]:
    """``SOURCE=REFERENCE`` pairs."""
    pairs = []
    for item in items:
        src, sep, ref = item.partition("=")
        if not sep or not src or not ref:
            raise OptionError(f"--map takes SOURCE_PHOTO=REFERENCE_PHOTO, got '{item}'.")
        pairs.append((Path(src), Path(ref)))
    return pairs


def report_folder(console: Console, result: FolderReport, target: Path, output: Path) -> None:
    """Say what a folder run did; some images failed: :class:`PartialError` (exit 9), all of them:
    :class:`NoFaceError` (exit 4)."""
    console.print(
        f"wrote {len(result.swapped)} images to {output}"
        + (f", {len(result.skipped)} already there" if result.skipped else "")
        + (f", {len(result.failed)} failed:" if result.failed else "."),
        highlight=False,
    )
    for path, reason in result.failed:
        console.print(f"  {path.name}: {reason}", highlight=False)
    if result.ignored:
        names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in result.ignored)
        console.print(f"not swapped (a folder run swaps its images only): {names}", highlight=False)
    if not result.failed:
        return
    total = len(result.swapped) + len(result.skipped) + len(result.failed)
    if result.swapped or result.skipped:
        raise PartialError(f"{len(result.failed)} of {total} images of {target} failed.")
    raise NoFaceError(f"None of the {total} images of {target} could be swapped.")


#: How ``main.py`` registers ``convert``: the swap command with ``--model`` required and its own help.
CONVERT_SETTINGS: dict[str, object] = {
    "help": "Convert an image, a folder of images or a video with a trained model (as `swap --model`): "
    "faces of A become B (or B become A with --direction b2a), with the usual mask, colour and blend "
    "options; video audio is kept."
}


class Direction(StrEnum):
    a2b = "a2b"
    b2a = "b2a"


class Checkpoint(StrEnum):
    latest = "latest"
    best = "best"
    snapshot = "snapshot"


def swap(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file (or folder, for a folder target).")
    ],
    source: Annotated[
        Path | None,
        typer.Argument(
            help="Photo of the person whose face is put in (none with --model).", show_default=False
        ),
    ] = None,
    target: Annotated[
        Path | None,
        typer.Argument(help="Image, folder of images, or video to swap faces in.", show_default=False),
    ] = None,
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
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", help="A model folder from `faceforge train`: swap with it (no source photo needed)."
        ),
    ] = None,
    direction: Annotated[
        Direction, typer.Option(help="With --model: a2b puts B's face on A, b2a the reverse.")
    ] = Direction.a2b,
    checkpoint: Annotated[
        Checkpoint,
        typer.Option(help="With --model: the latest save, the best-loss one or the last snapshot."),
    ] = Checkpoint.latest,
    learned_mask: Annotated[
        bool,
        typer.Option(
            "--learned-mask/--no-learned-mask",
            help="With --model: narrow the mask with the model's learned mask, when it has one.",
        ),
    ] = True,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite/--skip-existing",
            "-y",
            help="Replace an existing output file (kept otherwise); folders: redo the images already in "
            "the output instead of skipping them.",
        ),
    ] = SwapConfig().overwrite,
    config_file: ConfigFile = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    debug: Debug = False,
    *,
    declared_flags: Sequence[DeclaredFlag] = (),
    **declared: Any,
) -> None:
    """Swap a face into an image, a folder of images or a video. No training, no downloads."""
    from faceforge.api import swap_path
    from faceforge.outputs import OutputLock, check_output
    from faceforge.pipeline.image import FolderReport
    from faceforge.pipeline.video import VideoReport

    console = Console(stderr=True)
    with reported_errors(debug, console):
        pairs = parse_mapping(mapping or [])
        if pairs and reference is None:
            raise OptionError("--map needs --reference for the main source too.")
        model_swapper = None
        if ctx.info_name == "convert" and model is None:
            raise OptionError("faceforge convert needs --model MODEL_DIR (a folder from faceforge train).")
        if model is not None:
            if target is not None or more_sources or pairs:
                raise OptionError("With --model give only the target: the face put in is the model's own.")
            from faceforge.swappers.autoencoder import AutoencoderSwapper

            source, target = None, source
            model_swapper = AutoencoderSwapper(
                model, direction.value, checkpoint=checkpoint.value, learned_mask=learned_mask
            )
        if target is None:
            raise OptionError("Give a source photo and a target (or --model MODEL_DIR and a target).")
        people = [[source, *(more_sources or [])], *([src] for src, _ in pairs)] if source is not None else []
        references = [reference, *(ref for _, ref in pairs)] if reference is not None else None
        config, _ = run_settings(ctx, declared_flags, declared, config_file)
        selection = replace(
            config.selection,
            **_selection_given(config.selection.mode, all_faces, face_index, references is not None),
        )
        config = replace(config, selection=selection, overwrite=overwrite)
        inputs = [*(photo for person in people for photo in person), *(references or []), target]
        check_output(output, [*inputs, *([model] if model is not None else [])], overwrite)
        # The lock file goes beside the output; with no folder there, the writer's own sentence says so.
        lock = OutputLock(output) if output.absolute().parent.is_dir() else nullcontext()
        with (
            lock,
            progress_bar("swapping", "frames" if target.is_file() else "images", not quiet) as progress,
        ):
            result = swap_path(people, target, output, config, references, progress, model_swapper)
        if isinstance(result, VideoReport):
            console.print(
                f"wrote {output}: {result.frames} frames, a face swapped in {result.frames_swapped} of them."
            )
            if result.truncation is not None:
                console.print(f"warning: {result.truncation}", highlight=False)
        elif isinstance(result, FolderReport):
            report_folder(console, result, target, output)
        else:
            console.print(f"wrote {output}: {result} face(s) swapped.")
