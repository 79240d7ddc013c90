"""Swap configurations to compare: ``--swapper NAME --option key=value ...`` groups into ``SwapConfig``s.

Option keys are dotted paths into :class:`~faceforge.config.SwapConfig` (``compose.color``,
``video.detect_every``, ``tracking.smoothing.enabled``); values are parsed by the field's declared type,
so the dataclasses stay the one place options are declared.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from faceforge.config import SwapConfig
from faceforge.swappers.registry import SWAPPERS

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class Configuration:
    """One swapper configuration under evaluation: its label, the config and the options as given."""

    name: str
    config: SwapConfig
    options: tuple[tuple[str, str], ...] = ()

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "swapper": self.config.swapper, "options": dict(self.options)}


def _field_types(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def option_fields(cls: type = SwapConfig, prefix: str = "") -> Iterator[tuple[str, object, object]]:
    """Every settable leaf option: (dotted key, type, default), nested dataclasses walked."""
    hints = _field_types(cls)
    default = cls()
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        value = getattr(default, f.name)
        if dataclasses.is_dataclass(kind):
            yield from option_fields(kind, f"{prefix}{f.name}.")  # type: ignore[arg-type]
        elif f.name != "swapper":
            yield f"{prefix}{f.name}", kind, value


def type_name(kind: object) -> str:
    if typing.get_origin(kind) is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(kind))
    return getattr(kind, "__name__", str(kind))


def parse_value(key: str, text: str, kind: object) -> object:
    """``text`` as a value of the declared type ``kind`` (bool, int, float, str, Literal, Optional)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if text.lower() in ("none", "null", ""):
            return None
        if len(args) == 1:
            return parse_value(key, text, args[0])
        raise ValueError(f"The option {key} has a type the evaluator cannot parse ({kind}).")
    if origin is typing.Literal:
        choices = typing.get_args(kind)
        if text not in choices:
            raise ValueError(f"The option {key} takes one of {', '.join(map(str, choices))}, not '{text}'.")
        return text
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"The option {key} takes true or false, not '{text}'.")
    if kind in (int, float, str):
        try:
            return kind(text)  # type: ignore[operator]
        except ValueError:
            noun = {int: "an integer", float: "a number", str: "text"}[kind]  # type: ignore[index]
            raise ValueError(f"The option {key} takes {noun}, not '{text}'.") from None
    raise ValueError(f"The option {key} has a type the evaluator cannot parse ({kind}).")


def _replace_path(obj: object, path: list[str], text: str, key: str) -> object:
    hints = _field_types(type(obj))
    name = path[0]
    if name not in hints or name not in {f.name for f in dataclasses.fields(obj)}:  # type: ignore[arg-type]
        known = ", ".join(k for k, _, _ in option_fields())
        raise ValueError(f"Unknown option '{key}'; known options: {known}.")
    current = getattr(obj, name)
    if len(path) == 1:
        if dataclasses.is_dataclass(current):
            raise ValueError(f"The option {key} is a group; set one of its fields ({key}.NAME=VALUE).")
        value = parse_value(key, text, hints[name])
    else:
        if not dataclasses.is_dataclass(current):
            raise ValueError(f"Unknown option '{key}': {'.'.join(path[:1])} has no fields.")
        value = _replace_path(current, path[1:], text, key)
    return dataclasses.replace(obj, **{name: value})  # type: ignore[type-var]


def apply_options(config: SwapConfig, options: Mapping[str, str] | Sequence[tuple[str, str]]) -> SwapConfig:
    """A copy of ``config`` with each dotted ``key=value`` option set (invalid names and values raise
    ValueError with the reason, including the option dataclasses' own checks)."""
    items = options.items() if isinstance(options, Mapping) else options
    for key, text in items:
        if key == "swapper":
            raise ValueError("Choose the swapper with --swapper NAME, not as an option.")
        config = _replace_path(config, key.split("."), text, key)  # type: ignore[assignment]
    return config


def make_configuration(
    swapper: str, options: Sequence[tuple[str, str]], name: str | None = None
) -> Configuration:
    if swapper not in SWAPPERS:
        raise ValueError(f"Unknown swapper '{swapper}'; choose one of: {', '.join(sorted(SWAPPERS))}.")
    config = apply_options(SwapConfig(swapper=swapper), options)
    label = name or " ".join([swapper, *(f"{k}={v}" for k, v in options)])
    return Configuration(label, config, tuple(options))


def parse_option(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--option takes KEY=VALUE (such as compose.color=histogram), got '{item}'.")
    return key.strip(), value.strip()


def parse_configurations(tokens: Sequence[str]) -> list[Configuration]:
    """Group ``--swapper NAME [--option K=V]... [--name LABEL]`` runs into configurations, in order.

    Options before the first ``--swapper`` apply to the default swapper; with no tokens at all the
    result is the default configuration. Repeated labels get a numeric suffix.
    """
    groups: list[dict[str, object]] = []
    current: dict[str, object] | None = None
    items = list(tokens)
    i = 0
    while i < len(items):
        token = items[i]
        flag, eq, inline = token.partition("=")
        if flag not in ("--swapper", "--option", "--name"):
            raise ValueError(f"No such option: {token}.")
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(items):
                raise ValueError(f"{flag} needs a value.")
            value = items[i + 1]
            i += 2
        if flag == "--swapper" or current is None:
            current = {"swapper": SwapConfig().swapper, "options": [], "name": None}
            groups.append(current)
        if flag == "--swapper":
            current["swapper"] = value
        elif flag == "--option":
            current["options"].append(parse_option(value))  # type: ignore[union-attr]
        else:
            current["name"] = value
    if not groups:
        groups.append({"swapper": SwapConfig().swapper, "options": [], "name": None})
    configurations: list[Configuration] = []
    seen: dict[str, int] = {}
    for group in groups:
        cfg = make_configuration(group["swapper"], group["options"], group["name"])  # type: ignore[arg-type]
        count = seen.get(cfg.name, 0)
        seen[cfg.name] = count + 1
        if count:
            cfg = dataclasses.replace(cfg, name=f"{cfg.name} #{count + 1}")
        configurations.append(cfg)
    return configurations
