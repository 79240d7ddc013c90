"""The ``faceforge`` command."""

from __future__ import annotations

from typing import Annotated

import typer

from faceforge import __version__
from faceforge.cli import evaluate as evaluate_command
from faceforge.cli.demo import demo
from faceforge.cli.errors import handle_sigterm
from faceforge.cli.faces import app as faces_app
from faceforge.cli.native_logs import filter_native_stderr
from faceforge.cli.provenance import provenance
from faceforge.cli.swap import swap
from faceforge.cli.train import CONVERT_HELP, train
from faceforge.cli.train_oneshot import prepare_oneshot, train_oneshot
from faceforge.cli.weights import app as weights_app

app = typer.Typer(
    name="faceforge",
    help="Face swapping for consented, clearly labelled synthetic media; every output is tagged synthetic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(swap)
app.command()(train)
app.command("train-oneshot")(train_oneshot)
app.command("prepare-oneshot")(prepare_oneshot)
app.command("convert", help=CONVERT_HELP)(swap)
app.command()(demo)
app.command(**evaluate_command.COMMAND_SETTINGS)(evaluate_command.evaluate)
app.add_typer(faces_app)
app.add_typer(weights_app)
app.command()(provenance)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"faceforge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """faceforge: swap faces in images and videos."""


def run() -> None:
    filter_native_stderr()
    handle_sigterm()
    app()
