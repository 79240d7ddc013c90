"""``faceforge evaluate``: run swapper configurations on the same pairs and write a quality report.

Configurations are given as ordered groups, ``--swapper NAME [--option KEY=VALUE]... [--name LABEL]``,
repeated; Click does not keep the order between different options, so these three are read from the
command's extra arguments (see ``COMMAND_SETTINGS``) and grouped by
:func:`faceforge.evaluation.configs.parse_configurations`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from faceforge.cli.declared import ConfigFile
from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.progress import progress_bar
from faceforge.errors import OptionError
from faceforge.media.limits import DEFAULT_MAX_PAIRS

_OPTIONS_HELP = (
    "Configurations: --swapper NAME [--option KEY=VALUE]... [--name LABEL], repeated once per "
    "configuration (none: the default mesh swapper). KEY is any key `faceforge config show` prints "
    "(compose.color, video.detect_every, swappers.mesh.max_yaw); each configuration starts from the "
    "--config file's settings, when one is given."
)


#: How ``main.py`` registers the command: ``app.command(**COMMAND_SETTINGS)(evaluate)``.
COMMAND_SETTINGS: dict[str, object] = {
    "context_settings": {"allow_extra_args": True, "ignore_unknown_options": True},
    "epilog": _OPTIONS_HELP,
}

_SUMMARY = {  # metric key -> short column title for an 80-column terminal
    "id_source": "ID→src",
    "id_top1": "top-1",
    "pose": "pose°",
    "expression": "expr.",
    "gaze": "gaze",
    "bg_psnr": "bg dB",
    "failed_frames": "failed",
    "fps": "fps",
}


def evaluate(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="Report folder to create.")],
    pairs: Annotated[
        Path | None, typer.Option("--pairs", help="CSV file with 'source' and 'target' columns.")
    ] = None,
    sources: Annotated[
        Path | None, typer.Option("--sources", help="Folder of source photos (with --targets).")
    ] = None,
    targets: Annotated[
        Path | None,
        typer.Option(
            "--targets",
            help="Folder of target images and videos: every source is swapped into every target that "
            "shows a different person.",
        ),
    ] = None,
    identity_every: Annotated[
        int, typer.Option(help="Videos: measure identity and background on every N-th frame.")
    ] = 10,
    worst: Annotated[int, typer.Option(help="Worst pairs shown per configuration in the report.")] = 4,
    max_pairs: Annotated[
        int,
        typer.Option(help="Refuse a pairs file (or folders) giving more pairs than this (untrusted input)."),
    ] = DEFAULT_MAX_PAIRS,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing report folder.")
    ] = False,
    config_file: ConfigFile = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    debug: Debug = False,
) -> None:
    """Measure swap quality and speed (identity, pose, expression, gaze, background, video stability)
    of one or more swapper configurations on the same source/target pairs; writes report.html,
    metrics.json, metrics.csv and the outputs to the report folder."""
    console = Console(stderr=True)
    with reported_errors(debug, console):
        from faceforge.config import SwapConfig, configured, swap_declarations
        from faceforge.evaluation.configs import parse_configurations
        from faceforge.evaluation.metric_table import METRIC_BY_KEY
        from faceforge.evaluation.pairs import pairs_from_folders, read_pairs_csv
        from faceforge.evaluation.report import summary_rows
        from faceforge.evaluation.runner import evaluate as run_evaluation
        from faceforge.options import read_config_file
        from faceforge.outputs import check_output

        base = SwapConfig()
        if config_file is not None:
            base = configured(base, read_config_file(swap_declarations(), config_file))
        configurations = parse_configurations(list(ctx.args), base)
        if pairs is not None and (sources is not None or targets is not None):
            raise OptionError("Give either --pairs or --sources with --targets, not both.")
        if max_pairs < 1:
            raise OptionError("--max-pairs must be at least 1.")
        if pairs is not None:
            chosen = read_pairs_csv(pairs, max_pairs)
        elif sources is not None and targets is not None:
            chosen = pairs_from_folders(sources, targets, max_pairs)
        else:
            raise OptionError(
                "Give the pairs to evaluate: --pairs PAIRS.csv, or --sources DIR with --targets DIR."
            )
        if identity_every < 1:
            raise OptionError("--identity-every must be at least 1.")
        if worst < 0:
            raise OptionError("--worst cannot be negative.")
        # The report folder is never one of the inputs (replacing an existing report is --overwrite's).
        given = [path for path in (pairs, sources, targets) if path is not None]
        check_output(output, [*given, *(p.source for p in chosen), *(p.target for p in chosen)], True)
        console.print(
            f"evaluating {len(configurations)} configuration(s) on {len(chosen)} pair(s) into {output}",
            highlight=False,
        )
        with progress_bar("evaluating", "steps", not quiet) as progress:
            result = run_evaluation(
                chosen,
                configurations,
                output,
                identity_every=identity_every,
                worst=worst,
                skip_same_person=pairs is None,
                overwrite=overwrite,
                progress=progress,
            )
        table = Table(title="Evaluation summary (means over pairs; details in report.html)")
        table.add_column("configuration", overflow="fold", min_width=18)
        for key, title in _SUMMARY.items():
            arrow = "↓" if METRIC_BY_KEY[key].better == "lower" else "↑"
            table.add_column(f"{title}{arrow}", justify="right", no_wrap=True)
        for row in summary_rows(result, list(_SUMMARY)):
            table.add_row(*row)
        Console().print(table)
        for pair, reason in result.skipped:
            console.print(f"skipped {pair.name}: {reason}", highlight=False)
        failures = sum(r.aggregate["pairs_failed"] + r.aggregate["pairs_error"] for r in result.results)
        if failures:
            console.print(f"{failures:.0f} pair run(s) failed or could not be measured; see the report.")
        console.print(f"wrote {output / 'report.html'}", highlight=False)
