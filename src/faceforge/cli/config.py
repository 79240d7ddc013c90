"""``faceforge config show``: the effective settings of a swap, and where each came from.

It takes the same ``--config FILE`` and setting flags as ``faceforge swap`` (generated from the same
declarations), and prints every setting as TOML, so its output can be saved and passed back with
``--config``. Settings without a value (a weights file not chosen) are printed commented out, as TOML
has no empty value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import typer
from rich.console import Console

from faceforge.cli.declared import ConfigFile, DeclaredFlag, with_declared_options
from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.swap import PANELS, run_settings
from faceforge.config import swap_declarations
from faceforge.options import plain


def toml_line(key: str, value: Any, source: str) -> str:
    """``key = value  # source`` in TOML; a value of None is a commented-out line."""
    if value is None:
        return f"# {key} =  # {source}: not set"
    return f"{key} = {json.dumps(plain(value))}  # {source}"


def show(
    ctx: typer.Context,
    config_file: ConfigFile = None,
    debug: Debug = False,
    *,
    declared_flags: Sequence[DeclaredFlag] = (),
    **declared: Any,
) -> None:
    """Print every swap setting (TOML, dotted keys) with where its value came from: default, file or
    command line. Swapper options are listed for every registered swapper."""
    from faceforge.config import swap_settings

    with reported_errors(debug, Console(stderr=True)):
        config, sources = run_settings(ctx, declared_flags, declared, config_file)
        for key, value in swap_settings(config).items():
            typer.echo(toml_line(key, value, sources.get(key, "default")))


def group(command: Callable[..., Any]) -> typer.Typer:
    """The ``config`` group, ``show`` with a flag per declared swap option, read when the command is
    loaded (see ``main.LazyCommand.extend``)."""
    app = typer.Typer(
        help="Show the settings a swap runs with (defaults, a --config file and flags).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.command("show")(with_declared_options(command, swap_declarations(), PANELS))
    return app
