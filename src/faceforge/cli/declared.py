"""Command-line options generated from option declarations (:mod:`faceforge.options`).

A command lists the declarations it offers (``faceforge.config.swap_declarations()`` for ``swap``) and
:func:`with_declared_options` turns each into a Typer option of the command function: its flag, help,
default, choices and range come from the declaration, so nothing is written twice. The values given on
the command line are read back with :func:`given_settings` as dotted keys, parsed and checked by the
same functions that read config files.

A swapper's own options (``swappers.NAME.KEY``) share one flag across the swappers that declare the same
key (``--device`` for ghost and onnx); the flag sets the option of the swapper the run uses, and naming
an option the chosen swapper does not have is an error. A swapper option whose flag is taken by a run
option is offered as ``--NAME-KEY``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import typer
from typer.models import OptionInfo

from faceforge.errors import OptionError
from faceforge.options import DeclaredOption, parse_value

_SWAPPERS = "swappers."

#: The ``--config FILE`` option of the commands that run a swap.
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="A TOML or JSON file of settings (the keys `faceforge config show` prints); flags given "
        "here override it.",
        show_default=False,
    ),
]

_METAVARS = {int: "INTEGER", float: "NUMBER", str: "TEXT", Path: "PATH"}


@dataclass(frozen=True, slots=True)
class DeclaredFlag:
    """One generated flag and the declarations it sets: one run option, or the same key of several
    swappers (by swapper name)."""

    flag: str
    options: tuple[DeclaredOption, ...]
    name: str = ""  # the command function's parameter that holds the flag's value

    @property
    def key(self) -> str:
        """The dotted key of a run option; of the first swapper's, for a swapper option."""
        return self.first.key

    @property
    def first(self) -> DeclaredOption:
        return self.options[0]

    @property
    def swappers(self) -> tuple[str, ...]:
        return tuple(o.key.split(".")[1] for o in self.options if o.key.startswith(_SWAPPERS))

    def option_for(self, swapper: str) -> DeclaredOption:
        """The declaration this flag sets when ``swapper`` runs."""
        if not self.swappers:
            return self.first
        for opt in self.options:
            if opt.key.split(".")[1] == swapper:
                return opt
        owners = " and ".join(self.swappers) + (" swappers" if len(self.swappers) > 1 else " swapper")
        raise OptionError(f"{self.flag} is an option of the {owners}, not of {swapper}.")


def declared_flags(declarations: Iterable[DeclaredOption], taken: Iterable[str] = ()) -> list[DeclaredFlag]:
    """The flags for ``declarations``, skipping those declared with no flag (``flag=""``) and
    renaming a swapper option whose flag is in ``taken`` or is a run option's."""
    run_options: dict[str, DeclaredOption] = {}
    swapper_options: dict[str, list[DeclaredOption]] = {}
    for opt in declarations:
        if opt.spec.flag == "":
            continue
        if opt.key.startswith(_SWAPPERS):
            swapper_options.setdefault(opt.flag, []).append(opt)
        elif opt.flag in run_options or opt.flag in taken:
            raise ValueError(f"Two options declare the flag {opt.flag}: {opt.key} and another.")
        else:
            run_options[opt.flag] = opt
    flags = [DeclaredFlag(flag, (opt,)) for flag, opt in run_options.items()]
    used = set(run_options) | set(taken)
    for flag, group in swapper_options.items():
        if flag in used:
            flags.extend(DeclaredFlag(f"--{o.key.split('.')[1]}-{flag[2:]}", (o,)) for o in group)
        else:
            flags.append(DeclaredFlag(flag, tuple(group)))
    return [replace(flag, name=f"declared_{index}") for index, flag in enumerate(flags)]


def _help(flag: DeclaredFlag) -> str:
    text = flag.first.spec.help
    choices = flag.first.choices()
    if choices is not None and get_origin(flag.first.value_type) is tuple:
        text += f" Comma-separated, from: {', '.join(choices) or 'none registered'}."
    if flag.first.optional and flag.first.value_type is not bool:
        text += " 'none' for no value."
    if flag.swappers and len({o.spec.help for o in flag.options}) > 1:
        return " ".join(f"{name}: {o.spec.help}" for name, o in zip(flag.swappers, flag.options, strict=True))
    if flag.swappers:
        text = f"{', '.join(flag.swappers)}: {text}"
    return text


def _metavar(opt: DeclaredOption) -> str:
    choices = opt.choices()
    if choices is not None and get_origin(opt.value_type) is not tuple:
        return "[" + "|".join(choices) + "]"
    if get_origin(opt.value_type) is tuple:
        item = get_args(opt.value_type)[0] if get_args(opt.value_type) else str
        return f"{_METAVARS.get(item, 'TEXT')},..."
    return _METAVARS.get(opt.value_type, "TEXT")


def _default(flag: DeclaredFlag) -> Any:
    """The default as help shows it (the flag's parameter default; a value given is told apart by its
    source, see :func:`given_settings`); None where swappers sharing the flag disagree."""
    if len({repr(o.default) for o in flag.options}) > 1:
        return None
    value = flag.first.default
    if isinstance(value, bool):
        return value
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _parameter(flag: DeclaredFlag, panel: str) -> inspect.Parameter:
    """A keyword parameter whose Typer annotation makes ``flag``."""
    opt = flag.first
    if opt.value_type is bool:
        kind: Any = bool | None
        info = typer.Option(f"{flag.flag}/--no-{flag.flag[2:]}", help=_help(flag), rich_help_panel=panel)
    else:
        kind = str | None
        info = typer.Option(flag.flag, help=_help(flag), metavar=_metavar(opt), rich_help_panel=panel)
    return inspect.Parameter(
        flag.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=_default(flag),
        annotation=Annotated[kind, info],
    )


def _explicit_flags(signature: inspect.Signature) -> set[str]:
    """The flags a command declares itself (in its ``Annotated[..., typer.Option(...)]`` parameters)."""
    flags: set[str] = set()
    for param in signature.parameters.values():
        for info in getattr(param.annotation, "__metadata__", ()):
            if isinstance(info, OptionInfo):
                decls = [info.default, *(info.param_decls or ())] if isinstance(info.default, str) else []
                flags |= {part for decl in decls for part in decl.split("/") if part.startswith("--")}
    return flags


def with_declared_options(
    command: Callable[..., Any], declarations: Sequence[DeclaredOption], panel_of: Mapping[str, str]
) -> Callable[..., Any]:
    """``command`` (a Typer command function taking ``ctx``, ``declared_flags`` and ``**declared``)
    with one more parameter per flag of ``declarations``; the function gets the flags in
    ``declared_flags`` and their values in ``declared``, and reads them with :func:`given_settings`.
    The help panel of a flag is ``panel_of`` its key's first part (``"swappers."`` for swapper
    options)."""
    signature = inspect.signature(command, eval_str=True)
    explicit = [
        p
        for p in signature.parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD and p.name != "declared_flags"
    ]
    flags = declared_flags(declarations, _explicit_flags(signature))
    generated = []
    for flag in flags:
        head = _SWAPPERS if flag.swappers else flag.key.split(".")[0]
        generated.append(_parameter(flag, panel_of.get(head, "Options")))

    def run(*args: Any, **kwargs: Any) -> Any:
        return command(*args, declared_flags=flags, **kwargs)

    return with_parameters(functools.wraps(command)(run), [*explicit, *generated])


def with_parameters(function: Callable[..., Any], parameters: Sequence[inspect.Parameter]) -> Any:
    """``function`` with the signature Typer reads (``__signature__`` and ``__annotations__``) set to
    ``parameters``."""
    typed: Any = function  # a function object takes these attributes; its declared type does not say so
    typed.__signature__ = inspect.signature(function).replace(parameters=list(parameters))
    typed.__annotations__ = {p.name: p.annotation for p in parameters}
    return typed


def given_settings(
    ctx: Any, flags: Sequence[DeclaredFlag], declared: Mapping[str, Any], swapper: str
) -> dict[str, Any]:
    """The declared options given on the command line (not defaults), by dotted key, parsed and
    checked; swapper options set those of ``swapper``. ``declared`` holds the generated parameters'
    values."""
    values: dict[str, Any] = {}
    for flag in flags:
        source = ctx.get_parameter_source(flag.name)
        # By name: Typer runs its own copy of click, whose ParameterSource is not click's.
        if source is None or source.name != "COMMANDLINE":
            continue
        opt = flag.option_for(swapper)
        raw = declared[flag.name]
        values[opt.key] = raw if isinstance(raw, bool) else parse_value(opt, raw)
    return values
