"""faceforge.options: declarations walked by dotted key, values parsed and checked, config files read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from faceforge.errors import OptionError
from faceforge.options import (
    declared_options,
    effective_settings,
    option,
    parse_assignments,
    read_config_file,
    with_values,
)

NAMES = ["alpha"]


@dataclass(frozen=True, slots=True)
class Inner:
    size: int = option(3, help="A size.", min=1, max=5)
    mode: Literal["a", "b"] = option("a", help="A mode.")
    name: str = option("alpha", help="A registry name.", choices=lambda: NAMES)


@dataclass(frozen=True, slots=True)
class Outer:
    inner: Inner = field(default_factory=Inner)
    weights: str | None = option(None, help="A file.")
    sizes: tuple[int, ...] = option((1, 2), help="Sizes.")


def test_keys_are_dotted_and_in_declaration_order() -> None:
    assert [o.key for o in declared_options(Outer)] == [
        "inner.size",
        "inner.mode",
        "inner.name",
        "weights",
        "sizes",
    ]


def test_assignments_parse_by_declared_type() -> None:
    values = parse_assignments(Outer, ["inner.size=4", "inner.mode=b", "weights=none", "sizes=3,4"])
    assert values == {"inner.size": 4, "inner.mode": "b", "weights": None, "sizes": (3, 4)}
    config = with_values(Outer(), values)
    assert effective_settings(config)["inner.size"] == 4 and config.sizes == (3, 4)


def test_choices_are_read_from_the_registry_at_run_time() -> None:
    with pytest.raises(OptionError, match="one of alpha"):
        parse_assignments(Outer, ["inner.name=beta"])
    NAMES.append("beta")
    try:
        assert parse_assignments(Outer, ["inner.name=beta"]) == {"inner.name": "beta"}
    finally:
        NAMES.remove("beta")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("inner.size=9", "at most 5"),
        ("inner.size=x", "whole number"),
        ("inner.mode=c", "one of a, b"),
        ("size=2", "Did you mean inner.size"),
        ("nokey", "KEY=VALUE"),
    ],
)
def test_bad_values_are_one_sentence(item: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        parse_assignments(Outer, [item])


def test_config_files_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text('sizes = [5]\n[inner]\nsize = 2\nmode = "b"\n', encoding="utf-8")
    assert read_config_file(Outer, toml) == {"sizes": (5,), "inner.size": 2, "inner.mode": "b"}
    js = tmp_path / "run.json"
    js.write_text(json.dumps({"inner.size": 6}), encoding="utf-8")
    with pytest.raises(OptionError, match="at most 5"):
        read_config_file(Outer, js)
    broken = tmp_path / "broken.toml"
    broken.write_text("[inner\n", encoding="utf-8")
    with pytest.raises(OptionError, match="not valid TOML"):
        read_config_file(Outer, broken)
