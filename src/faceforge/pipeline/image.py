"""Swapping one image file, and a folder of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceforge.errors import FaceforgeError, InputError, NoFaceError, OptionError, OutputError
from faceforge.media.images import image_files, read_image, write_image
from faceforge.pipeline.session import SwapSession

Progress = Callable[[int, int], None]


def nothing_swapped(session: SwapSession, image: np.ndarray, declined: int, what: str) -> FaceforgeError:
    """Why no face of ``image`` was swapped, in one sentence: the swapper declined them, ``--face-index``
    points past the faces there are (counted again here, on this failure path only), or there is none."""
    if declined:
        return NoFaceError(f"The swapper declined every face of {what} ({declined}).")
    selection = session.config.selection
    if selection.mode == "index":
        found = len(session.analyser.faces(image))
        if found:
            return OptionError(
                f"--face-index {selection.face_index} asks for face number {selection.face_index + 1} from "
                f"the left, but {what} has {found} face{'s' if found > 1 else ''}: use 0 to {found - 1}."
            )
    return NoFaceError(f"No face to swap was found in {what}.")


def swap_image_file(session: SwapSession, target: Path, output: Path) -> int:
    """Swap the faces of one image file into ``output``; returns how many faces were replaced."""
    image = read_image(target)
    rendered = session.render_image(image)
    if rendered.faces_swapped == 0:
        raise nothing_swapped(session, image, rendered.faces_declined, str(target))
    write_image(output, rendered.image, session.tag(rendered))
    return rendered.faces_swapped


@dataclass
class FolderReport:
    swapped: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # output already there (resumed run)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (input, one-sentence reason)
    #: What the folder holds besides images (videos, subfolders, other files): not swapped, and said so.
    ignored: list[Path] = field(default_factory=list)


def folder_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder.")
    return image_files(folder)


def swap_folder(
    session: SwapSession, folder: Path, output: Path, progress: Progress | None = None
) -> FolderReport:
    """Swap every image of ``folder`` into the folder ``output`` under the same names.

    Images already present in ``output`` are skipped unless the config says overwrite, so an
    interrupted run continues where it stopped (outputs are written atomically, so a present file is
    complete). A bad image or one without a face is reported and the run goes on.
    """
    images = folder_images(folder)
    if not images:
        raise InputError(f"The folder {folder} holds no images.")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create the output folder {output}: {exc.strerror}.") from exc
    listed = set(images)
    report = FolderReport(
        ignored=[p for p in sorted(folder.iterdir()) if p not in listed and not p.name.startswith(".")]
    )
    for done, path in enumerate(images, start=1):
        destination = output / path.name
        if destination.exists() and not session.config.overwrite:
            report.skipped.append(path)
        else:
            try:
                swap_image_file(session, path, destination)
                report.swapped.append(path)
            except (InputError, NoFaceError) as exc:
                report.failed.append((path, str(exc)))
        if progress is not None:
            progress(done, len(images))
    return report
