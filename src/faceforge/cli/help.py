"""Help a person can read: flags show no value placeholder, values show a word, not a Python type.

Typer labels every option with its annotation (``<bool>`` on a flag, ``<list[Path]>``, ``<int>``).
:func:`readable_help` walks a command tree once, when ``main.py`` loads it, and gives each such option a
metavar: none for a flag, ``PATH``/``INTEGER``/``NUMBER``/``TEXT`` for a value. Choices keep Typer's
``<a|b|c>`` label, so they are shown as choices.
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperGroup

#: A Python type name inside Typer's ``<...>`` label, e.g. ``<list[Path]>`` or ``<int>``.
PYTHON_TYPE = re.compile(r"<(?:list\[)?(bool|str|int|float|Path|path|file|directory|dir)\]?>")

_WORDS = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "Path": "PATH",
    "path": "PATH",
    "file": "FILE",
    "directory": "FOLDER",
    "dir": "FOLDER",
}


def _tidy(param: Any, ctx: Any) -> None:
    if param.metavar is not None:
        return
    if getattr(param, "is_flag", False):
        param.metavar = ""
        return
    found = PYTHON_TYPE.fullmatch(param.display_type_rich(ctx) or "")
    if not found or found.group(1) not in _WORDS:
        return
    word = _WORDS[found.group(1)]
    if param.param_type_name == "option":
        param.metavar = word
    else:
        # An argument's metavar would replace its name in the usage line; Typer's panel asks the
        # argument for its type label instead, so the label is what changes.
        param.display_type_rich = lambda ctx: word


def readable_help(command: Any, ctx: Any) -> Any:
    """``command`` (and, for a group, every subcommand) with readable metavars; returns ``command``.
    ``ctx`` supplies the help option's names, so ``--help`` is tidied too."""
    help_option = command.get_help_option(ctx)
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        _tidy(param, ctx)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            readable_help(sub, ctx)
    return command
