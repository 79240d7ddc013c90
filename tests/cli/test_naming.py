"""The naming rules of docs/cli.md, checked over every parameter of every command (the diffusion and
every other command group's subcommands included): no command may break one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from faceforge.cli.main import COMMANDS, load_command

FLAG = re.compile(r"--[a-z0-9]+(-[a-z0-9]+)*")
#: Names that say a positional argument is where the command writes (rule 1: outputs are -o/--output).
OUTPUT_NAMES = {"output", "out", "destination", "dest", "target_dir"}
#: Flags that name an idea another flag already names (rules 6 and 7).
RETIRED = {
    "--preset": "saved settings presets only; the x264 preset is --x264-preset",
    "--min-size": "the smallest face is --min-face (pixels)",
    "--identity": "--identity-net (network), --identity-backend (runtime), --identity-loss (weight)",
}


def commands() -> Iterator[tuple[str, Any]]:
    """(name as typed, click command) for every command and subcommand."""
    for name in COMMANDS:
        command = load_command(name)
        subcommands = getattr(command, "commands", None)
        if subcommands:
            yield from ((f"{name} {sub}", cmd) for sub, cmd in subcommands.items())
        else:
            yield name, command


def violations(path: str, command: Any) -> Iterator[str]:
    names = set()
    for param in command.params:
        opts = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
        names.update(opts)
        if param.param_type_name == "argument" and param.name in OUTPUT_NAMES:
            yield f"output positional: {param.name}"
        if "--min-face" in opts and param.type_descriptor.annotation is not int:
            yield f"--min-face is {param.type_descriptor.annotation.__name__}, not an integer"
        if "--output" in opts and "-o" not in opts:
            yield "--output without -o"
        if "--quiet" in opts and "-q" not in opts:
            yield "--quiet without -q"
        if "--debug" in opts and getattr(param, "secondary_opts", []):
            yield "--debug is a flag pair"
        for opt in opts:
            if opt.startswith("--") and not FLAG.fullmatch(opt):
                yield f"flag not lower-case-with-dashes: {opt}"
            if opt in RETIRED:
                yield f"retired flag {opt}"
    if "--debug" not in names:
        yield "no --debug"


def test_every_command_follows_the_naming_rules() -> None:
    found = {(path, problem) for path, command in commands() for problem in violations(path, command)}
    assert found == set(), "deviations from docs/cli.md"


def test_the_rules_catch_what_they_describe() -> None:
    import typer

    app = typer.Typer()

    @app.command()
    def bad(
        output: str,
        quiet: bool = typer.Option(False, "--quiet"),
        debug: bool = typer.Option(False, "--debug/--no-debug"),
        preset: str = typer.Option("x", "--preset"),
        min_face: float = typer.Option(0.0, "--min-face"),
    ) -> None: ...

    command = typer.main.get_command(app)
    assert set(violations("bad", command)) == {
        "output positional: output",
        "--quiet without -q",
        "--debug is a flag pair",
        "retired flag --preset",
        "--min-face is float, not an integer",
    }
