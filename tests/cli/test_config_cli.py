"""The swap flags, ``--config FILE`` and ``faceforge config show`` come from the option declarations:
a swapper (with its own options), a processor and a masker registered from outside the package appear
in ``swap --help`` and ``config show`` with no other edit; files and flags combine, flags winning."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceforge.cli.main import app
from faceforge.compose.maskers import MASKS, MaskContext, register_masker
from faceforge.config import SwapConfig, configured, swap_declarations, swap_settings
from faceforge.options import check_declared, option, read_config_file
from faceforge.processors.registry import registered_processor
from faceforge.swappers.mesh import MeshSwapper
from faceforge.swappers.registry import registered_swapper

runner = CliRunner()


def invoke(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "240"})
    return result.exit_code, result.output


def settings(output: str) -> dict[str, tuple[str, str]]:
    """``config show`` lines as key -> (value text, source)."""
    found = {}
    for line in output.splitlines():
        body, _, source = line.lstrip("# ").partition("  # ")
        key, _, value = body.partition(" = ")
        found[key.strip()] = (value.strip(), source.split(":")[0])
    return found


@dataclass(frozen=True, slots=True)
class SketchOptions:
    strokes: int = option(3, help="How many pencil strokes the sketch swapper draws.", min=1, max=9)
    charcoal: bool = option(False, help="Charcoal instead of pencil.")

    def __post_init__(self) -> None:
        check_declared(self)


class SketchSwapper(MeshSwapper):
    """A swapper from outside the package with options of its own."""

    name = "sketch"

    def __init__(self, options: SketchOptions) -> None:
        super().__init__()
        self.sketch = options


class EdgeMasker:
    """A face masker from outside the package."""

    def __init__(self, options: object) -> None:
        self.inner = MASKS["landmarks"](options)

    def mask(self, context: MaskContext):
        return self.inner.mask(context)

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True, slots=True)
class PassthroughOptions:
    strength: float = option(1.0, help="How much of the frame the passthrough keeps.", min=0.0, max=1.0)

    def __post_init__(self) -> None:
        check_declared(self)


class Passthrough:
    """A frame processor from outside the package with options of its own."""

    name = "passthrough"

    def __init__(self, options: PassthroughOptions) -> None:
        self.options = options

    def process(self, frames):
        return list(frames)

    def close(self) -> None:
        pass


@pytest.fixture
def plugins() -> Iterator[None]:
    """A swapper, a frame processor and a face masker, registered through the public API."""
    register_masker("edge_test", EdgeMasker)
    try:
        with (
            registered_swapper("sketch", SketchSwapper, SketchOptions),
            registered_processor("passthrough", Passthrough, "frame", PassthroughOptions),
        ):
            yield
    finally:
        del MASKS["edge_test"]  # later tests see the built-in masks only


def test_plugins_appear_in_swap_help_and_config_show(plugins: None) -> None:
    code, text = invoke("swap", "--help")
    assert code == 0, text
    assert "--strokes" in text and "sketch: How many pencil strokes" in text and "--charcoal" in text
    assert "sketch" in text.split("--swapper", 1)[1].split("\n", 1)[0]  # a --swapper choice
    assert "passthrough" in text.split("--processors", 1)[1]
    assert "--passthrough-strength" in text and "How much of the frame the passthrough keeps." in text
    assert "edge_test" in text.split("--mask ", 1)[1].split("\n", 1)[0]
    code, text = invoke(
        "config", "show", "--swapper", "sketch", "--strokes", "5", "--mask", "edge_test",
        "--passthrough-strength", "0.25",
    )  # fmt: skip
    assert code == 0, text
    shown = settings(text)
    assert shown["processor_options.passthrough.strength"] == ("0.25", "command line")
    assert shown["swappers.sketch.strokes"] == ("5", "command line")
    assert shown["swappers.sketch.charcoal"] == ("false", "default")
    assert shown["swapper"] == ('"sketch"', "command line")
    assert shown["compose.mask"] == ('"edge_test"', "command line")


def test_a_flag_of_another_swapper_is_refused(plugins: None) -> None:
    code, text = invoke("config", "show", "--strokes", "5")
    assert code == 2 and "--strokes is an option of the sketch swapper, not of mesh." in text
    code, text = invoke("config", "show", "--swapper", "sketch", "--strokes", "12")
    assert code == 2 and "swappers.sketch.strokes must be at most 9" in text
    code, text = invoke("config", "show", "--passthrough-strength", "3")
    assert code == 2 and "processor_options.passthrough.strength must be at most 1" in text


def test_config_show_round_trips_and_flags_override_the_file(tmp_path: Path) -> None:
    config_file = tmp_path / "settings.toml"
    config_file.write_text("[video]\ncrf = 23\nx = 1\n", encoding="utf-8")
    code, text = invoke("config", "show", "--config", config_file)
    assert code == 2 and "Unknown option 'video.x'" in text
    config_file.write_text(
        '[video]\ncrf = 23\npreset = "fast"\n[swappers.mesh]\nmax_yaw = 60\n', encoding="utf-8"
    )
    code, text = invoke("config", "show", "--config", config_file, "--crf", "20", "--no-smoothing")
    assert code == 0, text
    shown = settings(text)
    assert shown["video.crf"] == ("20", "command line")
    assert shown["video.preset"] == ('"fast"', "file")
    assert shown["swappers.mesh.max_yaw"] == ("60.0", "file")
    assert shown["tracking.smoothing.enabled"] == ("false", "command line")
    assert shown["compose.color"] == (f'"{SwapConfig().compose.color}"', "default")
    saved = tmp_path / "saved.toml"
    saved.write_text(text, encoding="utf-8")
    tomllib.loads(text)  # what config show prints is a TOML file
    code, again = invoke("config", "show", "--config", saved)
    assert code == 0, again
    assert {k: v for k, (v, _) in settings(again).items()} == {k: v for k, (v, _) in shown.items()}


def test_a_config_builds_the_swapper_with_its_own_options(tmp_path: Path) -> None:
    config_file = tmp_path / "mesh.json"
    config_file.write_text('{"swappers": {"mesh": {"max_yaw": 30, "shape": 0}}}', encoding="utf-8")
    config = configured(SwapConfig(), read_config_file(swap_declarations(), config_file))
    swapper = config.create_swapper()
    assert isinstance(swapper, MeshSwapper)
    assert swapper.options.max_yaw == 30.0 and swapper.options.shape == 0.0
    assert swap_settings(config)["swappers.mesh.max_yaw"] == 30.0
    assert swap_settings(SwapConfig())["swappers.mesh.max_yaw"] == MeshSwapper().options.max_yaw


def test_bad_config_files_are_one_sentence(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[video\ncrf = ", encoding="utf-8")
    code, text = invoke("config", "show", "--config", broken)
    assert code == 2 and "is not valid TOML" in text
    code, text = invoke("config", "show", "--config", tmp_path / "missing.toml")
    assert code == 2 and "Cannot read the config file" in text
