"""The ``faceforge`` command.

Each subcommand's module is imported only when that subcommand runs (or shows its help): the modules
pull in numpy, OpenCV, PyAV and, inside the command bodies, torch and mediapipe, and ``faceforge --help``
must not pay for any of them. The listing below is therefore the one place a command's name, module and
one-line summary are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from faceforge.cli.errors import handle_sigterm, missing_extra
from faceforge.cli.help import readable_help
from faceforge.native_logs import filter_native_stderr
from faceforge.version import __version__


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a subcommand lives: ``module.attribute`` is a ``typer.Typer`` (a command group) or a
    function, registered with the ``typer.Typer.command`` keywords in ``module.settings`` when named;
    ``module.extend``, when named, takes that attribute and returns the command (a function with more
    parameters, or a group): flags generated from option declarations are read when the command loads."""

    module: str
    attribute: str
    summary: str
    settings: str | None = None
    extend: str | None = None


COMMANDS: dict[str, LazyCommand] = {
    "swap": LazyCommand(
        "faceforge.cli.swap",
        "swap",
        "Swap a face into an image, a folder of images or a video.",
        extend="extend",
    ),
    "convert": LazyCommand(
        "faceforge.cli.swap",
        "swap",
        "Convert an image, folder or video with a model from `train`.",
        settings="CONVERT_SETTINGS",
        extend="extend_convert",
    ),
    "train": LazyCommand("faceforge.cli.train", "train", "Train a pair model (A and B) on two facesets."),
    "train-oneshot": LazyCommand(
        "faceforge.cli.train_oneshot", "train_oneshot", "Train a one-shot (AEI-Net) swapper."
    ),
    "prepare-oneshot": LazyCommand(
        "faceforge.cli.train_oneshot", "prepare_oneshot", "Prepare a dataset for train-oneshot."
    ),
    "train-restorer": LazyCommand(
        "faceforge.cli.train_restorer", "train_restorer", "Train faceforge's face restorer on a faceset."
    ),
    "demo": LazyCommand("faceforge.cli.demo", "demo", "Swap a face in sample media (no downloads)."),
    "evaluate": LazyCommand(
        "faceforge.cli.evaluate",
        "evaluate",
        "Measure swap quality and speed of swapper configurations.",
        settings="COMMAND_SETTINGS",
    ),
    "faces": LazyCommand("faceforge.cli.faces", "app", "Build and curate facesets."),
    "weights": LazyCommand("faceforge.cli.weights", "app", "List, fetch, verify and add weight files."),
    "provenance": LazyCommand("faceforge.cli.provenance", "provenance", "Read a file's synthetic-media tag."),
    "config": LazyCommand(
        "faceforge.cli.config", "show", "Show the effective swap settings.", extend="group"
    ),
    "clean": LazyCommand("faceforge.cli.clean", "clean", "Remove temporary files that killed runs left."),
    "latent": LazyCommand(
        "faceforge.cli.latent", "app", "StyleGAN2 latent editing: align, invert, mix, swap."
    ),
    "diffusion": LazyCommand("faceforge.cli.diffusion", "app", "Stable Diffusion inpainting and its LoRA."),
    "batch": LazyCommand("faceforge.cli.batch", "app", "Swap, convert or extract many inputs on Ray."),
    "ui": LazyCommand("faceforge.cli.ui", "ui", "Start the web UI (local by default)."),
    "live": LazyCommand("faceforge.cli.live", "live", "Swap a camera, file or stream live, frame by frame."),
}


def load_command(name: str) -> Any:
    """The click command of ``name``, its module imported now."""
    entry = COMMANDS[name]
    try:
        module = import_module(entry.module)
    except ModuleNotFoundError as exc:
        sentence = missing_extra(exc)
        if sentence is None:
            raise
        typer.echo(f"error: faceforge {name}: {sentence}", err=True)
        raise SystemExit(1) from None
    target = getattr(module, entry.attribute)
    if entry.extend:
        target = getattr(module, entry.extend)(target)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    settings = getattr(module, entry.settings) if entry.settings else {}
    single.command(name, **settings)(target)
    return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    """Lists the commands from :data:`COMMANDS` without importing them; imports one when it is run."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        return TyperCommand(cmd_name, help=entry.summary, short_help=entry.summary)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        return name, (readable_help(load_command(name), ctx) if name is not None else command), rest

    def get_params(self, ctx: Any) -> list[Any]:
        readable_help(self, ctx)
        return super().get_params(ctx)


app = typer.Typer(
    name="faceforge",
    cls=LazyGroup,
    help="Face swapping for consented, clearly labelled synthetic media; every output is tagged synthetic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
