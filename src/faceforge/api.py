"""The Python API: one call per kind of target. The CLI is a thin wrapper over these."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faceforge.config import SwapConfig
from faceforge.errors import InputError, UnsupportedFormatError
from faceforge.media.images import IMAGE_SUFFIXES, is_image_path, read_image, write_image
from faceforge.media.video import VIDEO_SUFFIXES, is_video_path
from faceforge.pipeline.image import FolderReport, Progress, nothing_swapped, swap_folder, swap_image_file
from faceforge.pipeline.session import Photo, SwapSession
from faceforge.pipeline.video import VideoReport, swap_video_file
from faceforge.swappers.base import Swapper

Sources = Photo | Sequence[Photo]


def _people(source: Sources) -> list[list[Photo]]:
    """One person from one photo or a list of photos of that person."""
    if isinstance(source, (str, Path, np.ndarray)):
        return [[Path(source) if isinstance(source, str) else source]]
    return [[Path(p) if isinstance(p, str) else p for p in source]]


def swap_image(
    source: Sources,
    target: np.ndarray | str | Path,
    output: str | Path | None = None,
    config: SwapConfig | None = None,
) -> np.ndarray:
    """Swap the source person into a target image (array or file). With ``output`` the result is also
    written there, with its provenance tag. Returns the swapped image."""
    with SwapSession(_people(source), config) as session:
        image = target if isinstance(target, np.ndarray) else read_image(Path(target))
        rendered = session.render_image(image)
        if rendered.faces_swapped == 0:
            raise nothing_swapped(session, image, rendered.faces_declined, "the target image")
        if output is not None:
            write_image(Path(output), rendered.image, session.tag(rendered))
        return rendered.image


def swap_video(
    source: Sources,
    target: str | Path,
    output: str | Path,
    config: SwapConfig | None = None,
    progress: Progress | None = None,
) -> VideoReport:
    """Swap the source person through a video; frame count, timestamps and audio are kept."""
    with SwapSession(_people(source), config) as session:
        return swap_video_file(session, Path(target), Path(output), progress)


def swap_path(
    sources: Sequence[Sequence[Photo]],
    target: str | Path,
    output: str | Path,
    config: SwapConfig | None = None,
    references: Sequence[Photo] | None = None,
    progress: Progress | None = None,
    swapper: Swapper | None = None,
) -> int | VideoReport | FolderReport:
    """Swap into an image file, a folder of images or a video, chosen by what ``target`` is.

    ``sources`` holds the photos of each source person; ``references`` one photo per source of the
    person it replaces. ``swapper``: a ready swapper instead of ``config.swapper``; a trained model
    (:class:`~faceforge.swappers.autoencoder.AutoencoderSwapper`) takes ``sources=[]``.
    """
    target, output = Path(target), Path(output)
    kind = target_kind(target)
    check_output(kind, output)
    run = config or SwapConfig()
    # A swapper's options may refuse a video target (diffusion: it flickers unless asked for).
    refusal = getattr(run.options_of(run.swapper), "video_refusal", None)
    if kind == "video" and swapper is None and refusal is not None and refusal() is not None:
        raise InputError(refusal())
    with SwapSession(sources, config, references, swapper) as session:
        if kind == "folder":
            return swap_folder(session, target, output, progress)
        if kind == "video":
            return swap_video_file(session, target, output, progress)
        return swap_image_file(session, target, output)


def target_kind(target: Path) -> str:
    if target.is_dir():
        return "folder"
    if not target.exists():
        raise InputError(f"The target {target} does not exist.")
    if is_video_path(target):
        return "video"
    if is_image_path(target):
        return "image"
    raise UnsupportedFormatError(
        f"The target {target} is neither an image ({', '.join(sorted(IMAGE_SUFFIXES))}) "
        f"nor a video ({', '.join(sorted(VIDEO_SUFFIXES))})."
    )


def check_output(kind: str, output: Path) -> None:
    """Refuse an output of the wrong kind before any work is done."""
    if kind == "video" and not is_video_path(output):
        raise UnsupportedFormatError(
            f"The output {output} must be a video file ({', '.join(sorted(VIDEO_SUFFIXES))})."
        )
    if kind == "image" and not is_image_path(output):
        raise UnsupportedFormatError(
            f"The output {output} must be an image file ({', '.join(sorted(IMAGE_SUFFIXES))})."
        )
    if kind == "folder" and output.exists() and not output.is_dir():
        raise UnsupportedFormatError(f"The output {output} must be a folder when the target is a folder.")
