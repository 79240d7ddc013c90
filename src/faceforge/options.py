"""Options declared once: help text, choices and range live with the dataclass field that holds them.

A stage declares its options as a frozen dataclass whose fields are made with :func:`option`. Everything
that shows or reads options — the CLI (``faceforge swap``), a ``--config FILE``, ``faceforge config show``,
``faceforge evaluate --option KEY=VALUE`` and the UI — walks those declarations with
:func:`declared_options` and parses and checks values with :func:`parse_value` and :func:`check_value`,
so a default, a help sentence or a choice list is written in one place.

Keys are dotted paths from the root dataclass (``compose.color``, ``tracking.smoothing.enabled``).
Choices are a fixed list, the values of a ``Literal`` type, or a callable read at run time (a registry's
names), so a plug-in registered from outside the package is offered wherever the option is.

This module is a leaf: standard library only, so the CLI can read declarations without loading numpy,
torch or mediapipe.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from faceforge.errors import OptionError

#: The field-metadata key under which :func:`option` stores its :class:`OptionSpec`.
METADATA_KEY = "faceforge.option"

Choices = Sequence[str] | Callable[[], Iterable[str]]

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_NONE = frozenset({"none", "null", ""})


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """What a field declares about itself beyond its type and default."""

    help: str
    choices: Choices | None = None
    min: float | None = None
    max: float | None = None
    #: The CLI flag when it is not the field name with dashes (``--x264-preset`` for ``video.preset``).
    flag: str | None = None


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    choices: Choices | None = None,
    min: float | None = None,
    max: float | None = None,
    flag: str | None = None,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field that carries its help text, choices and range (inclusive bounds)."""
    spec = OptionSpec(help=help, choices=choices, min=min, max=max, flag=flag)
    return dataclasses.field(default=default, default_factory=default_factory, metadata={METADATA_KEY: spec})


@dataclass(frozen=True, slots=True)
class DeclaredOption:
    """One leaf option of a dataclass tree, found by :func:`declared_options`."""

    key: str  # dotted path from the root dataclass
    type: Any  # the resolved type hint
    default: Any
    spec: OptionSpec

    @property
    def flag(self) -> str:
        """The command-line flag: ``--`` and the last key part with dashes, unless the field names one."""
        return self.spec.flag or "--" + self.key.rsplit(".", 1)[-1].replace("_", "-")

    def choices(self) -> tuple[str, ...] | None:
        """The allowed values now: the declared list, the registry's current names or the Literal's."""
        declared = self.spec.choices
        if callable(declared):
            return tuple(sorted(declared()))
        if declared is not None:
            return tuple(declared)
        literal = _literal_values(self.type)
        return tuple(str(v) for v in literal) if literal else None

    @property
    def value_type(self) -> Any:
        """The type without ``| None``."""
        return _without_none(self.type)

    @property
    def optional(self) -> bool:
        return _allows_none(self.type)


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def _allows_none(hint: Any) -> bool:
    return _is_union(hint) and type(None) in get_args(hint)


def _without_none(hint: Any) -> Any:
    if not _is_union(hint):
        return hint
    rest = [a for a in get_args(hint) if a is not type(None)]
    return rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007 - built from a runtime tuple


def _literal_values(hint: Any) -> tuple[Any, ...]:
    hint = _without_none(hint)
    return get_args(hint) if get_origin(hint) is Literal else ()


def _field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def declared_options(cls: type, prefix: str = "") -> list[DeclaredOption]:
    """Every declared leaf option of the dataclass ``cls``, nested dataclass fields walked into, in
    declaration order. A field made without :func:`option` is not an option and is left out."""
    hints = get_type_hints(cls)
    found: list[DeclaredOption] = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        key = f"{prefix}{f.name}"
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            found.extend(declared_options(hint, key + "."))
            continue
        spec = f.metadata.get(METADATA_KEY)
        if spec is not None:
            found.append(DeclaredOption(key, hint, _field_default(f), spec))
    return found


Declarations = type | Sequence[DeclaredOption]


def _listed(options: Declarations) -> Sequence[DeclaredOption]:
    """The declarations of a dataclass, or a list of them already walked (a command's own set, such as
    ``faceforge.config.swap_declarations()``)."""
    return declared_options(options) if isinstance(options, type) else options


def find_option(options: Declarations, key: str) -> DeclaredOption:
    """The declared option ``key`` of ``options`` (a dataclass or a list of declarations); an unknown
    key is an :class:`OptionError` naming close ones."""
    by_key = {o.key: o for o in _listed(options)}
    if key in by_key:
        return by_key[key]
    last = key.rsplit(".", 1)[-1]
    near = [k for k in by_key if k.rsplit(".", 1)[-1] == last or k.startswith(key + ".")]
    hint = f" Did you mean {', '.join(near)}?" if near else " `faceforge config show` lists them."
    raise OptionError(f"Unknown option '{key}'.{hint}")


def parse_value(opt: DeclaredOption, text: str) -> Any:
    """``text`` read as the option's declared type (``none`` for an optional one, ``a,b`` for a tuple),
    then checked by :func:`check_value`."""
    value = _parse(opt.key, opt.type, text.strip())
    check_value(opt, value)
    return value


def _parse(key: str, hint: Any, text: str) -> Any:
    if _allows_none(hint):
        if text.lower() in _NONE:
            return None
        hint = _without_none(hint)
    literal = _literal_values(hint)
    if literal:
        return next((v for v in literal if str(v) == text), text)  # check_value names the choices
    origin = get_origin(hint)
    if origin is tuple:
        args = get_args(hint)
        item = args[0] if args else str
        return tuple(_parse(key, item, part.strip()) for part in text.split(",") if part.strip())
    if hint is bool:
        lowered = text.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise OptionError(f"Option {key} takes true or false, not '{text}'.")
    if hint in (int, float):
        try:
            return hint(text)
        except ValueError:
            kind = "a whole number" if hint is int else "a number"
            raise OptionError(f"Option {key} takes {kind}, not '{text}'.") from None
    if hint is Path:
        return Path(text)
    return text


def _type_name(hint: Any) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "text", Path: "a path"}
    return names.get(hint, "a value")


def check_value(opt: DeclaredOption, value: Any) -> None:
    """Raise one :class:`OptionError` sentence when ``value`` is outside the option's choices or range
    or not of its type."""
    if value is None:
        if opt.optional:
            return
        raise OptionError(f"Option {opt.key} needs a value.")
    hint = opt.value_type
    if get_origin(hint) is tuple:
        if not isinstance(value, tuple | list):
            raise OptionError(f"Option {opt.key} takes a list of values, not {value!r}.")
        items = value
    else:
        items = (value,)
    choices = opt.choices()
    for item in items:
        if choices is not None and str(item) not in choices:
            raise OptionError(f"Option {opt.key} takes one of {', '.join(choices)}; not '{item}'.")
        base = get_args(hint)[0] if get_origin(hint) is tuple and get_args(hint) else hint
        if base is bool and not isinstance(item, bool):
            raise OptionError(f"Option {opt.key} takes true or false, not {item!r}.")
        if base in (int, float) and (isinstance(item, bool) or not isinstance(item, int | float)):
            raise OptionError(f"Option {opt.key} takes {_type_name(base)}, not {item!r}.")
        if base is int and isinstance(item, float):
            raise OptionError(f"Option {opt.key} takes a whole number, not {item!r}.")
        if opt.spec.min is not None and item < opt.spec.min:
            raise OptionError(f"Option {opt.key} must be at least {opt.spec.min:g}, not {item}.")
        if opt.spec.max is not None and item > opt.spec.max:
            raise OptionError(f"Option {opt.key} must be at most {opt.spec.max:g}, not {item}.")


def check_declared(instance: Any) -> None:
    """Check the declared options held directly by the dataclass ``instance`` (for its
    ``__post_init__``); nested option dataclasses check their own."""
    for opt in declared_options(type(instance)):
        if "." not in opt.key:
            check_value(opt, getattr(instance, opt.key))


#: A device name: ``auto`` (CUDA when there is one), ``cpu``, ``cuda`` or ``cuda:N``.
DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device(device: str, key: str = "device") -> None:
    """The one check of a device name, for every option that takes one: an :class:`OptionError`
    sentence unless it is auto, cpu, cuda or cuda:N."""
    if not DEVICE.fullmatch(device):
        raise OptionError(f"Option {key} takes auto, cpu or cuda[:N], not '{device}'.")


def coerce_value(opt: DeclaredOption, value: Any) -> Any:
    """A value from a TOML/JSON file as the option's type: strings are parsed, a number where a float is
    declared becomes a float, a list where a tuple is declared becomes a tuple; then checked."""
    if isinstance(value, str) and opt.value_type is not str and not _literal_values(opt.type):
        return parse_value(opt, value)
    if opt.value_type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    elif opt.value_type is Path and isinstance(value, str):
        value = Path(value)
    elif get_origin(opt.value_type) is tuple and isinstance(value, list):
        value = tuple(value)
    check_value(opt, value)
    return value


def with_values(config: Any, values: Mapping[str, Any]) -> Any:
    """A copy of the dataclass ``config`` with each dotted key replaced by its (already parsed) value.
    Rebuilding each nested dataclass runs its ``__post_init__`` checks too."""
    nested: dict[str, dict[str, Any]] = {}
    direct: dict[str, Any] = {}
    for key, value in values.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, inner in nested.items():
        direct[head] = with_values(getattr(config, head), inner)
    try:
        return dataclasses.replace(config, **direct)
    except (TypeError, ValueError) as exc:
        raise OptionError(str(exc).rstrip(".") + ".") from None


def parse_assignments(options: Declarations, items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``video.crf=23``) parsed against ``options`` (a dataclass or a list of
    declarations)."""
    options = _listed(options)
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"An option is KEY=VALUE (e.g. video.crf=23), not '{item}'.")
        values[key.strip()] = parse_value(find_option(options, key.strip()), text)
    return values


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_config_file(options: Declarations, path: Path) -> dict[str, Any]:
    """The settings of a TOML or JSON file (nested tables or dotted keys, as ``config show`` prints them),
    each checked against ``options`` (a dataclass or a list of declarations)."""
    options = _listed(options)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OptionError(f"Cannot read the config file {path}: {exc.strerror or exc}.") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise OptionError(f"The config file {path} is not valid {_format_name(path)}: {exc}.") from None
    if not isinstance(data, Mapping):
        raise OptionError(f"The config file {path} must hold a table of settings.")
    return {key: coerce_value(find_option(options, key), value) for key, value in _flatten(data).items()}


def _format_name(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


def effective_settings(config: Any) -> dict[str, Any]:
    """Every declared option of the dataclass instance ``config`` by dotted key, with its current value."""
    values: dict[str, Any] = {}
    for opt in declared_options(type(config)):
        value: Any = config
        for part in opt.key.split("."):
            value = getattr(value, part)
        values[opt.key] = value
    return values


def plain(value: Any) -> Any:
    """A value as JSON/TOML can hold it (paths as strings, tuples as lists)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


__all__ = [
    "DEVICE",
    "METADATA_KEY",
    "DeclaredOption",
    "OptionSpec",
    "check_device",
    "check_value",
    "coerce_value",
    "declared_options",
    "effective_settings",
    "find_option",
    "option",
    "parse_assignments",
    "parse_value",
    "plain",
    "read_config_file",
    "with_values",
]
