"""``faceforge demo``: sample photos that registry packages ship, swapped into ``out/``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.progress import progress_bar


def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the samples and results.")
    ] = Path("out"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    debug: Debug = False,
) -> None:
    """Swap a face in a sample image and a sample video (no downloads: the photos ship with
    scikit-image and matplotlib) and draw out/compare.png (source | target | result)."""
    from faceforge.api import swap_path, swap_video
    from faceforge.demo import prepare_samples, write_compare
    from faceforge.version import __version__

    console = Console(stderr=True)
    with reported_errors(debug, console):
        source, target_image, target_video = prepare_samples(output / "samples")
        image_out, video_out = output / "swapped.png", output / "swapped.mp4"
        compare = output / "compare.png"
        swap_path([[source]], target_image, image_out)
        write_compare(compare, source, target_image, image_out)
        with progress_bar("swapping video", "frames", not quiet) as progress:
            report = swap_video(source, target_video, video_out, progress=progress)
        console.print(f"wrote {image_out}, {video_out} ({report.frames} frames, audio kept) and {compare}")
        console.print(
            f"the samples are in {output / 'samples'}; every output is tagged synthetic "
            f"by faceforge {__version__}: faceforge provenance FILE shows the tag",
            highlight=False,
        )
