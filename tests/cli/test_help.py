"""Every command's --help reads as prose: flags show no <bool>, values show no Python type names."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from faceforge.cli.help import PYTHON_TYPE
from faceforge.cli.main import COMMANDS, app, load_command

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    paths: list[list[str]] = [[]]
    for name in COMMANDS:
        paths.append([name])
        command = load_command(name)
        paths.extend([name, sub] for sub in getattr(command, "commands", {}))
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "faceforge")
def test_help_shows_no_python_types(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert PYTHON_TYPE.search(result.output) is None, re.findall(r"<[^>]*>", result.output)


def test_convert_offers_only_what_a_trained_model_uses() -> None:
    """convert is swap with --model: no swapper choice, swapper options or source photos."""
    result = runner.invoke(app, ["convert", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for absent in ("--swapper", "--weights", "--max-yaw", "--map", "--reference", "--threshold"):
        assert absent not in result.output, absent
    assert "--model" in result.output and "--x264-preset" in result.output and "--mask" in result.output
    missing = runner.invoke(app, ["convert", "clip.mp4", "-o", "out.mp4"])
    assert missing.exit_code == 2 and "needs --model" in missing.output
