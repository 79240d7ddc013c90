"""The optional extras: the command names the one a missing package belongs to, and its list matches
pyproject's optional-dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from faceforge.cli.errors import EXTRAS, reported_errors

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_extras_map_matches_pyproject() -> None:
    extras = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    declared = {
        re.split(r"[<>=!~ ]", requirement)[0].replace("-", "_"): extra
        for extra, requirements in extras.items()
        if extra != "dev"
        for requirement in requirements
    }
    assert declared == EXTRAS


def test_a_missing_extra_is_one_sentence_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped, reported_errors(console=Console(stderr=True, width=200)):
        raise ModuleNotFoundError("No module named 'gradio'", name="gradio")
    assert stopped.value.code == 1
    assert (
        "error: This needs the optional package gradio: pip install 'faceforge[ui]'."
        in capsys.readouterr().err
    )


def test_another_missing_module_is_a_bug(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped, reported_errors(console=Console(stderr=True, width=200)):
        raise ModuleNotFoundError("No module named 'faceforge.nothing'", name="faceforge.nothing")
    assert stopped.value.code == 70
    assert "internal error: ModuleNotFoundError" in capsys.readouterr().err
