"""``faceforge train`` options reach the configuration; a resumed run takes run options and refuses others."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from faceforge.cli.errors import BAD_OPTION
from faceforge.cli.main import app

TINY = ["--arch", "original", "--width-scale", "0.125", "-b", "4", "--save-every", "1", "--workers", "0",
        "--preview-every", "0", "--no-tensorboard", "--amp", "off", "-q"]  # fmt: skip


def _train(faceset_a, faceset_b, model, *args: str):
    command = ["train", str(faceset_a), str(faceset_b), "-o", str(model), *TINY, *args]
    return CliRunner().invoke(app, command, env={"COLUMNS": "300"})


def test_loss_and_initialiser_names_reach_the_config(faceset_a, faceset_b, tmp_path):
    model = tmp_path / "model"
    options = ["--loss", "ms-ssim:0.5,l1", "--init", "conv_aware"]
    result = _train(faceset_a, faceset_b, model, "-n", "1", *options)
    assert result.exit_code == 0, result.output
    config = json.loads((model / "config.json").read_text())
    assert config["loss"]["terms"] == [["ms_ssim", 0.5], ["l1", 1.0]]  # option spelling, config names
    assert config["model"]["init"] == "conv_aware"


def test_unknown_choices_are_refused(faceset_a, faceset_b, tmp_path):
    bad_init = _train(faceset_a, faceset_b, tmp_path / "m", "-n", "1", "--init", "xavier")
    assert bad_init.exit_code == 2 and "xavier" in bad_init.output
    bad_loss = _train(faceset_a, faceset_b, tmp_path / "m", "-n", "1", "--loss", "lpips:1")
    assert bad_loss.exit_code == BAD_OPTION and "Unknown loss 'lpips'" in bad_loss.output
    assert not (tmp_path / "m").exists()


def test_a_resume_takes_run_options_and_compares_each_kept_option_alone(faceset_a, faceset_b, tmp_path):
    model = tmp_path / "model"
    first = _train(faceset_a, faceset_b, model, "-n", "1", "--init", "conv_aware")
    assert first.exit_code == 0, first.output

    refused = _train(faceset_a, faceset_b, model, "-n", "2", "--loss", "ssim:1")
    assert refused.exit_code == BAD_OPTION and "--loss differs" in refused.output
    # --arch, --width-scale and -b are given again with the folder's values (TINY); --init is not: the
    # folder's initialiser is no reason to refuse them.
    resumed = _train(faceset_a, faceset_b, model, "-n", "2", "--lr", "1e-4", "--loss", "ssim:1,l1:1")
    assert resumed.exit_code == 0, resumed.output
    config = json.loads((model / "config.json").read_text())
    assert config["iterations"] == 2 and config["optimiser"]["lr"] == 1e-4
    assert config["model"]["init"] == "conv_aware"
