"""``faceforge live SOURCE --input CAMERA_OR_FILE_OR_URL``: swap a live stream, dropping frames rather
than lagging, with the current rate and latency drawn on the output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import Debug, reported_errors


def live(
    source: Annotated[
        Path, typer.Argument(help="Photo of the person whose face is put in.", show_default=False)
    ],
    input_spec: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help="A camera number (0), a video file (played at its own rate) or a stream URL.",
        ),
    ],
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="window, a video file, or an rtmp:// / rtsp:// URL to push to."),
    ] = "window",
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="Swap options from a TOML or JSON file (`faceforge config show`)."),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--option", help="A swap option as KEY=VALUE (repeatable), e.g. video.detect_every=5."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace an existing output file.")
    ] = False,
    meter: Annotated[
        bool, typer.Option("--meter/--no-meter", help="Draw fps and latency on the output.")
    ] = True,
    debug: Debug = False,
) -> None:
    """Swap a face into a camera, file or stream frame by frame; prints frames in/out/dropped and latency."""
    with reported_errors(debug, stopped="The live output file was discarded."):
        from faceforge.config import SwapConfig
        from faceforge.live.sinks import WINDOW, open_sink
        from faceforge.live.sources import FrameSource
        from faceforge.live.stream import run_live
        from faceforge.options import parse_assignments, read_config_file, with_values
        from faceforge.outputs import check_output
        from faceforge.pipeline.session import SwapSession

        values = read_config_file(SwapConfig, config_file) if config_file else {}
        values.update(parse_assignments(SwapConfig, settings or []))
        config = with_values(SwapConfig(), values)
        if output != WINDOW and "://" not in output:
            check_output(Path(output), [source, Path(input_spec)], overwrite)
        stream = FrameSource(input_spec)
        with SwapSession([[source]], config) as session:
            sink = open_sink(output, stream.fps, session.tag(), config.video.crf, config.video.preset)
            stats = run_live(session, stream, sink, meter)
        Console(soft_wrap=True).print(stats.summary(), highlight=False)
