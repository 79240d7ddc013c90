"""Swap configurations to compare: ``--swapper NAME --option key=value ...`` groups into ``SwapConfig``s.

Option keys are the dotted keys of :func:`faceforge.config.swap_declarations`, the same as a
``--config`` file's and ``faceforge config show``'s (``compose.color``, ``video.detect_every``,
``swappers.mesh.max_yaw``); values are parsed and checked by :mod:`faceforge.options`, the one parser of
option values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from faceforge.config import SwapConfig, configured, swap_declarations
from faceforge.errors import OptionError
from faceforge.options import find_option, parse_value
from faceforge.swappers.registry import SWAPPERS


@dataclass(frozen=True, slots=True)
class Configuration:
    """One swapper configuration under evaluation: its label, the config and the options as given."""

    name: str
    config: SwapConfig
    options: tuple[tuple[str, str], ...] = ()

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "swapper": self.config.swapper, "options": dict(self.options)}


def apply_options(config: SwapConfig, options: Mapping[str, str] | Sequence[tuple[str, str]]) -> SwapConfig:
    """A copy of ``config`` with each dotted ``key=value`` option set; an unknown key or a bad value is
    one :class:`OptionError` sentence (the option dataclasses' own checks included)."""
    items = options.items() if isinstance(options, Mapping) else options
    declarations = swap_declarations()
    values: dict[str, object] = {}
    for key, text in items:
        if key == "swapper":
            raise OptionError("Choose the swapper with --swapper NAME, not as an option.")
        values[key] = parse_value(find_option(declarations, key), text)
    return configured(config, values)


def make_configuration(
    swapper: str,
    options: Sequence[tuple[str, str]],
    name: str | None = None,
    base: SwapConfig | None = None,
) -> Configuration:
    """``base`` (a ``--config`` file's settings; defaults when None) with ``swapper`` and ``options``."""
    if swapper not in SWAPPERS:
        raise OptionError(f"Unknown swapper '{swapper}'; choose one of: {', '.join(sorted(SWAPPERS))}.")
    config = apply_options(dataclasses.replace(base or SwapConfig(), swapper=swapper), options)
    label = name or " ".join([swapper, *(f"{k}={v}" for k, v in options)])
    return Configuration(label, config, tuple(options))


def parse_option(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise OptionError(f"--option takes KEY=VALUE (such as compose.color=histogram), got '{item}'.")
    return key.strip(), value.strip()


@dataclass(slots=True)
class _Group:
    """One ``--swapper NAME [--option K=V]... [--name LABEL]`` run of tokens, as read so far."""

    swapper: str
    options: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    name: str | None = None


def parse_configurations(tokens: Sequence[str], base: SwapConfig | None = None) -> list[Configuration]:
    """Group ``--swapper NAME [--option K=V]... [--name LABEL]`` runs into configurations, in order.

    Options before the first ``--swapper`` apply to the default swapper; with no tokens at all the
    result is the default configuration. Each starts from ``base`` (a ``--config`` file's settings).
    Repeated labels get a numeric suffix.
    """
    default_swapper = (base or SwapConfig()).swapper
    groups: list[_Group] = []
    current: _Group | None = None
    items = list(tokens)
    i = 0
    while i < len(items):
        token = items[i]
        flag, eq, inline = token.partition("=")
        if flag not in ("--swapper", "--option", "--name"):
            raise OptionError(f"No such option: {token}.")
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(items):
                raise OptionError(f"{flag} needs a value.")
            value = items[i + 1]
            i += 2
        if flag == "--swapper" or current is None:
            current = _Group(default_swapper)
            groups.append(current)
        if flag == "--swapper":
            current.swapper = value
        elif flag == "--option":
            current.options.append(parse_option(value))
        else:
            current.name = value
    if not groups:
        groups.append(_Group(default_swapper))
    configurations: list[Configuration] = []
    seen: dict[str, int] = {}
    for group in groups:
        cfg = make_configuration(group.swapper, group.options, group.name, base)
        count = seen.get(cfg.name, 0)
        seen[cfg.name] = count + 1
        if count:
            cfg = dataclasses.replace(cfg, name=f"{cfg.name} #{count + 1}")
        configurations.append(cfg)
    return configurations
