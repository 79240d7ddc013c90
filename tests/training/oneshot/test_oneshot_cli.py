"""``faceforge prepare-oneshot`` and ``faceforge train-oneshot`` through the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from faceforge.cli.main import app
from faceforge.training.oneshot.config import DEFAULTS

TINY = ["--width", "4", "--blocks", "1", "--d-ndf", "8", "--d-layers", "3", "--d-scales", "2", "-b", "2",
        "--save-every", "1", "--workers", "0", "--preview-every", "0", "--no-tensorboard", "--id-weight", "0",
        "-q"]  # fmt: skip


def _faceforge(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})


def test_prepare_reports_what_it_did_and_resumes(prepared, photo_folder):
    dataset, _ = prepared
    result = _faceforge("prepare-oneshot", str(photo_folder), "-o", str(dataset), "-q")
    assert result.exit_code == 0, result.output
    assert (
        "0 crops of 3 identities" in result.output and "3 identity folders were done before" in result.output
    )


@pytest.mark.slow
def test_train_stops_on_nan_with_exit_7_resumes_and_keeps_its_layout(oneshot_dataset, tmp_path):
    model = str(tmp_path / "model")
    result = _faceforge(
        "train-oneshot", str(oneshot_dataset), "-o", model, *TINY, "-n", "2", "--inject-nan-at", "2"
    )
    assert result.exit_code == 7, result.output
    assert (
        "The loss became NaN at iteration 2" in result.output
        and "last save is at iteration 1" in result.output
    )

    stage2 = ["--eyes-weight", "1", "--stage2-at", "2"]
    result = _faceforge("train-oneshot", str(oneshot_dataset), "-o", model, *TINY, "-n", "3", *stage2)
    assert result.exit_code == 0, result.output
    assert "iteration 3: saved in" in result.output
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["train"]["losses"]["eyes"] == 1.0 and config["train"]["stage2_at"] == 2
    assert config["train"]["losses"]["id"] == 0.0  # given again, unchanged
    assert config["train"]["optimiser"]["lr"] == DEFAULTS.optimiser.lr

    changed = [*TINY[2:], "--width", "8"]  # the same run with another generator width
    result = _faceforge("train-oneshot", str(oneshot_dataset), "-o", model, *changed, "-n", "4")
    assert result.exit_code == 2 and "--width differs" in result.output


def test_bad_options_are_one_sentence(oneshot_dataset, tmp_path):
    result = _faceforge(
        "train-oneshot", str(oneshot_dataset), "-o", str(tmp_path / "m"), "--jitter", "0.1,0.2"
    )
    assert result.exit_code == 2 and "--jitter takes 4 numbers" in result.output
    result = _faceforge("train-oneshot", str(tmp_path / "missing"), "-o", str(tmp_path / "m"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_a_nan_before_the_first_save_leaves_nothing_to_resume(oneshot_dataset, tmp_path):
    model = str(tmp_path / "model")
    result = _faceforge(
        "train-oneshot", str(oneshot_dataset), "-o", model, *TINY, "-n", "1", "--inject-nan-at", "1"
    )
    assert result.exit_code == 7 and "nothing was saved" in result.output, result.output
    # checkpoint.json now records the stop, but no save: the next run starts afresh, with its own layout.
    result = _faceforge(
        "train-oneshot", str(oneshot_dataset), "-o", model, *TINY[2:], "--width", "2", "-n", "1"
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "model" / "config.json").read_text())["generator"]["width"] == 2
