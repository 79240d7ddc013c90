"""``train --device`` / ``train-oneshot --device``: a device that is misspelt or not on this machine is one
sentence and exit 2 (it was an AssertionError or RuntimeError, exit 70), and no model folder is made."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from faceforge.cli.main import app

TINY = ["--arch", "original", "--width-scale", "0.125", "-b", "4", "--workers", "0", "-n", "1",
        "--preview-every", "0", "--no-tensorboard", "--amp", "off", "-q"]  # fmt: skip
ABSENT = f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"


def _run(*args: object):
    return CliRunner().invoke(app, [str(arg) for arg in args], env={"COLUMNS": "80"})


@pytest.mark.parametrize(
    ("device", "sentence"),
    [
        ("potato", "Option --device takes auto, cpu or cuda[:N], not 'potato'."),
        (ABSENT, f"Option --device asks for '{ABSENT}', but "),
    ],
)
def test_train_refuses_a_device_it_cannot_use(
    faceset_a: Path, faceset_b: Path, tmp_path: Path, device: str, sentence: str
) -> None:
    model = tmp_path / "model"
    result = _run("train", faceset_a, faceset_b, "-o", model, "--device", device, *TINY)
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert sentence in text and "Traceback" not in text and "internal error" not in text
    assert not model.exists()


def test_train_oneshot_refuses_a_misspelt_device(tmp_path: Path) -> None:
    (tmp_path / "dataset").mkdir()
    result = _run("train-oneshot", tmp_path / "dataset", "-o", tmp_path / "model", "--device", "gpu0", "-q")
    assert result.exit_code == 2, result.output
    assert "Option --device takes auto, cpu or cuda[:N], not 'gpu0'." in " ".join(result.output.split())
    assert not (tmp_path / "model").exists()
