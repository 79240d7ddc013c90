"""The run-loop settings every trainer's configuration shares, and reading and writing configurations as
JSON. Torch-free, so a training command's --help and a saved configuration need no torch."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from faceforge.errors import OptionError
from faceforge.settings_io import refuse_unknown_keys

AMP_MODES = ("auto", "off", "fp16", "bf16")

#: The run-loop options of every trainer's configuration that a resumed run may change.
RESUMABLE_RUN_OPTIONS = (
    "iterations",
    "save_every",
    "snapshot_every",
    "keep_snapshots",
    "preview_every",
    "log_every",
    "workers",
    "amp",
)

_Config = TypeVar("_Config")


def plain_fields(value: Any) -> dict[str, Any]:
    """The fields of the dataclass instance ``value`` as a JSON-ready dict (nested ones included)."""
    return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and lists as JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict):
            return to_plain(to_dict())
        return plain_fields(value)
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def _tuples(value: Any) -> Any:
    """JSON lists back to the (nested) tuples frozen dataclasses hold."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def from_plain(cls: type, data: dict[str, Any], what: str) -> Any:
    """The ``cls`` dataclass from its JSON form (its own ``from_dict`` where it has one); keys it does not
    know are refused, naming ``what``."""
    from_dict = getattr(cls, "from_dict", None)
    if callable(from_dict):
        return from_dict(data)
    refuse_unknown_keys(cls, data, what)
    return cls(**{k: _tuples(v) for k, v in data.items()})


def config_from_plain(
    cls: type[_Config], data: Mapping[str, Any], sections: Mapping[str, tuple[type, str]], what: str
) -> _Config:
    """A trainer's configuration ``cls`` from its JSON form: keys it does not know are refused (naming
    ``what``); each of ``sections`` (field -> its dataclass and the name its errors use) is read with
    :func:`from_plain`, and JSON lists of the other fields become tuples."""
    refuse_unknown_keys(cls, data, what)
    values = {}
    for name, value in data.items():
        if name in sections:
            kind, section = sections[name]
            values[name] = from_plain(kind, dict(value), section)
        else:
            values[name] = _tuples(value)
    return cls(**values)


def check_run_settings(config: Any, also_non_negative: Iterable[str] = ()) -> None:
    """The checks of the run-loop options every trainer's configuration has (AMP mode, batch size,
    iterations, save, snapshot, preview and log intervals, workers), and that ``also_non_negative`` of its
    own fields are not negative; a ``ValueError`` names the first option out of range."""
    if config.amp not in AMP_MODES:
        raise OptionError(f"Unknown AMP mode '{config.amp}'; choose one of: {', '.join(AMP_MODES)}.")
    for name in ("batch_size", "save_every", "preview_count", "log_every"):
        if getattr(config, name) < 1:
            raise OptionError(f"{name} must be at least 1, got {getattr(config, name)}.")
    non_negative = ("iterations", "snapshot_every", "keep_snapshots", "preview_every", "workers")
    for name in (*non_negative, *also_non_negative):
        if getattr(config, name) < 0:
            raise OptionError(f"{name} must not be negative, got {getattr(config, name)}.")


def resumed_config(config: _Config, changes: Mapping[str, Any], resumable: Iterable[str]) -> _Config:
    """The stored ``config`` with the ``changes`` a resumed run makes; a change of an option not in
    ``resumable`` is refused."""
    refused = sorted(set(changes) - set(resumable))
    if refused:
        raise OptionError(
            f"A resumed run cannot change {', '.join(refused)}; train into a new model folder instead."
        )
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]
