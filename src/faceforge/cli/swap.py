"""``faceforge swap``: a source person (or several, each with a reference) into an image, folder or video.

Defaults and choices come from the option dataclasses and the registries, so they are declared once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, get_args, get_type_hints

import typer
from rich.console import Console

from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.progress import progress_bar
from faceforge.compose import BLENDERS, COLOR_TRANSFERS, MASKS
from faceforge.config import NeuralOptions, SwapConfig
from faceforge.swappers.registry import SWAPPERS

_CONFIG = SwapConfig()
_SELECTION, _COMPOSE, _VIDEO, _NEURAL = _CONFIG.selection, _CONFIG.compose, _CONFIG.video, _CONFIG.neural


def _choices(name: str, registry: Mapping[str, object]) -> type[Enum]:
    """A string Enum of a registry's names, which Typer turns into a validated choice."""
    return Enum(name, {key: key for key in sorted(registry)}, type=str)  # type: ignore[return-value]


SwapperName = _choices("SwapperName", SWAPPERS)
MaskName = _choices("MaskName", MASKS)
ColorName = _choices("ColorName", COLOR_TRANSFERS)
BlendName = _choices("BlendName", BLENDERS)
_NEURAL_HINTS = get_type_hints(NeuralOptions)
BackendName = _choices("BackendName", dict.fromkeys(get_args(_NEURAL_HINTS["backend"])))
FamilyName = _choices("FamilyName", dict.fromkeys(get_args(_NEURAL_HINTS["family"])))
PrecisionName = _choices("PrecisionName", dict.fromkeys(get_args(_NEURAL_HINTS["precision"])))
_SWAPPER, _MASK = SwapperName(_CONFIG.swapper), MaskName(_COMPOSE.mask)
_BACKEND, _PRECISION = BackendName(_NEURAL.backend), PrecisionName(_NEURAL.precision)
_FAMILY = FamilyName(_NEURAL.family)
_COLOR, _BLEND = ColorName(_COMPOSE.color), BlendName(_COMPOSE.blend)


def selection_mode(all_faces: bool, face_index: int | None, has_references: bool) -> str:
    chosen = [all_faces, face_index is not None, has_references]
    if sum(chosen) > 1:
        raise ValueError("Use only one of --all-faces, --face-index and --reference.")
    if all_faces:
        return "all"
    if face_index is not None:
        return "index"
    return "reference" if has_references else "largest"


def parse_mapping(items: list[str]) -> list[tuple[Path, Path]]:
    """``SOURCE=REFERENCE`` pairs."""
    pairs = []
    for item in items:
        src, sep, ref = item.partition("=")
        if not sep or not src or not ref:
            raise ValueError(f"--map takes SOURCE_PHOTO=REFERENCE_PHOTO, got '{item}'.")
        pairs.append((Path(src), Path(ref)))
    return pairs


#: How ``main.py`` registers ``convert``: the swap command with ``--model`` required and its own help.
CONVERT_SETTINGS: dict[str, object] = {
    "help": "Convert an image, a folder of images or a video with a trained model (same as `swap --model`): "
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
    threshold: Annotated[
        float, typer.Option(help="Identity distance under which a face counts as the reference person.")
    ] = _SELECTION.threshold,
    swapper: Annotated[SwapperName, typer.Option(help="Swapper.")] = _SWAPPER,
    weights: Annotated[
        str | None,
        typer.Option(help="ghost/onnx: the swapper network, a `faceforge weights list` name or a file."),
    ] = _NEURAL.weights,
    identity_weights: Annotated[
        str | None,
        typer.Option(help="ghost/onnx: the identity network (ArcFace) that embeds the source, name or file."),
    ] = _NEURAL.identity_weights,
    converter_weights: Annotated[
        str | None,
        typer.Option(help="onnx simswap/ghost models: the embedding converter (crossface), name or file."),
    ] = _NEURAL.converter_weights,
    family: Annotated[
        FamilyName,
        typer.Option(
            help="onnx: the kind of model; auto reads it from the weights catalog or the crop size."
        ),
    ] = _FAMILY,
    backend: Annotated[
        BackendName, typer.Option(help="ghost: run the generator in PyTorch or in onnxruntime.")
    ] = _BACKEND,
    device: Annotated[str, typer.Option(help="ghost/onnx: auto, cpu, cuda or cuda:N.")] = _NEURAL.device,
    precision: Annotated[
        PrecisionName,
        typer.Option(
            help="ghost: auto is fp16 on CUDA and fp32 on CPU; bf16 is bfloat16 autocast. "
            "onnx: a model runs in the precision it was exported in (auto)."
        ),
    ] = _PRECISION,
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
    mask: Annotated[MaskName, typer.Option(help="Face mask.")] = _MASK,
    color: Annotated[ColorName, typer.Option(help="Colour transfer toward the target's skin.")] = _COLOR,
    blend: Annotated[BlendName, typer.Option(help="Feathered alpha or Poisson seamless clone.")] = _BLEND,
    keep_mouth: Annotated[
        bool,
        typer.Option(
            "--keep-mouth/--no-keep-mouth", help="Keep the target's mouth interior (teeth, tongue)."
        ),
    ] = _COMPOSE.keep_mouth,
    keep_eyes: Annotated[
        bool,
        typer.Option(
            "--keep-eyes/--no-keep-eyes", help="Keep the target's eyes, so gaze follows the target."
        ),
    ] = _COMPOSE.keep_eyes,
    crf: Annotated[
        int, typer.Option(help="Video quality (x264/VP9 CRF; lower is better and larger).")
    ] = _VIDEO.crf,
    preset: Annotated[str, typer.Option(help="x264 speed preset (ultrafast … veryslow).")] = _VIDEO.preset,
    detect_every: Annotated[
        int, typer.Option(help="Run the face detector every N video frames; faces are tracked in between.")
    ] = _VIDEO.detect_every,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on a video cut short (fewer frames than it declares).")
    ] = _VIDEO.strict,
    smoothing: Annotated[
        bool, typer.Option("--smoothing/--no-smoothing", help="Smooth landmarks over time (video).")
    ] = _CONFIG.tracking.smoothing.enabled,
    watermark: Annotated[
        bool, typer.Option("--watermark", help="Add a visible 'synthetic' mark.")
    ] = _CONFIG.watermark,
    overwrite: Annotated[
        bool, typer.Option("--overwrite/--skip-existing", help="Folders: redo images already in the output.")
    ] = _CONFIG.overwrite,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    debug: Debug = False,
) -> None:
    """Swap a face into an image, a folder of images or a video. No training, no downloads."""
    from faceforge.api import swap_path
    from faceforge.pipeline.image import FolderReport
    from faceforge.pipeline.video import VideoReport

    console = Console(stderr=True)
    with reported_errors(debug, console):
        pairs = parse_mapping(mapping or [])
        if pairs and reference is None:
            raise ValueError("--map needs --reference for the main source too.")
        model_swapper = None
        if ctx.info_name == "convert" and model is None:
            raise ValueError("faceforge convert needs --model MODEL_DIR (a folder from faceforge train).")
        if model is not None:
            if target is not None or more_sources or pairs:
                raise ValueError("With --model give only the target: the face put in is the model's own.")
            from faceforge.swappers.autoencoder import AutoencoderSwapper

            source, target = None, source
            model_swapper = AutoencoderSwapper(
                model, direction.value, checkpoint=checkpoint.value, learned_mask=learned_mask
            )
        if target is None:
            raise ValueError("Give a source photo and a target (or --model MODEL_DIR and a target).")
        people = [[source, *(more_sources or [])], *([src] for src, _ in pairs)] if source is not None else []
        references = [reference, *(ref for _, ref in pairs)] if reference is not None else None
        config = replace(
            _CONFIG,
            swapper=swapper.value,
            selection=replace(
                _SELECTION,
                mode=selection_mode(all_faces, face_index, references is not None),
                face_index=face_index or 0,
                threshold=threshold,
            ),
            compose=replace(
                _COMPOSE, mask=mask, color=color, blend=blend, keep_mouth=keep_mouth, keep_eyes=keep_eyes
            ),
            tracking=replace(
                _CONFIG.tracking, smoothing=replace(_CONFIG.tracking.smoothing, enabled=smoothing)
            ),
            video=replace(_VIDEO, crf=crf, preset=preset, detect_every=detect_every, strict=strict),
            neural=NeuralOptions(
                weights=weights,
                identity_weights=identity_weights,
                converter_weights=converter_weights,
                family=family.value,
                backend=backend.value,
                device=device,
                precision=precision.value,
            ),
            watermark=watermark,
            overwrite=overwrite,
        )
        with progress_bar("swapping", "frames" if target.is_file() else "images", not quiet) as progress:
            result = swap_path(people, target, output, config, references, progress, model_swapper)
        if isinstance(result, VideoReport):
            console.print(
                f"wrote {output}: {result.frames} frames, a face swapped in {result.frames_swapped} of them."
            )
            if result.truncation is not None:
                console.print(f"warning: {result.truncation}", highlight=False)
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
