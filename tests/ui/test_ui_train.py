"""The Train tab without a browser: it reads what a real trainer writes (TensorBoard scalars, the
preview), and starts, stops (the trainer saves first) and resumes a real tiny ``faceforge train``."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from faceforge.media.images import read_image
from faceforge.training.preview import write_preview
from faceforge.ui.train_tab import TrainTab, loss_history, loss_table

TINY = "--arch dfaker --width-scale 0.125 -b 4 --save-every 1000 --preview-every 1 --log-every 1 --workers 0"


def test_the_tab_shows_the_preview_and_loss_a_run_wrote(tmp_path: Path):
    from torch.utils.tensorboard import SummaryWriter

    model = tmp_path / "model"
    with SummaryWriter(str(model / "logs")) as writer:
        for step, value in [(1, 0.9), (2, 0.7), (3, 0.6)]:
            writer.add_scalar("loss/total", value, step)
            writer.add_scalar("loss/a", value / 2, step)
            writer.add_scalar("train/lr", 1e-4, step)
    grid = np.full((32, 48, 3), 120, np.uint8)
    write_preview(model, 3, grid)
    history = loss_history(model)
    assert set(history) == {"total", "a"}
    assert [step for step, _ in history["total"]] == [1, 2, 3]
    assert history["total"][1][1] == np.float32(0.7)
    table = loss_table(history)
    assert list(table.columns) == ["iteration", "loss", "term"] and len(table) == 6
    _, preview, curve, _ = TrainTab().on_refresh(str(model))
    assert np.array_equal(preview, read_image(model / "previews" / "preview.png"))
    assert len(curve) == 6


def _wait_for(done, what: str, limit_s: float = 240.0) -> None:
    """Poll until ``done()`` (a file the trainer writes, a line it prints)."""
    deadline = time.monotonic() + limit_s
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.slow
def test_start_stop_and_resume_a_real_training(faceset_a: Path, faceset_b: Path, tmp_path: Path):
    tab = TrainTab()
    model = tmp_path / "model"
    said = tab.on_start(str(faceset_a), str(faceset_b), str(model), f"-n 1000 {TINY}")
    assert said.startswith("Training "), said
    assert "already training" in tab.on_start(str(faceset_a), str(faceset_b), str(model), TINY)
    _wait_for((model / "previews" / "preview.png").exists, "the first preview")
    stopped = tab.on_stop(str(model))
    assert stopped.startswith("Stopped "), stopped
    state, preview, _, _ = tab.on_refresh(str(model))
    assert "ended" in state and preview.ndim == 3
    saved = sorted(p.name for p in model.iterdir())
    assert "previews" in saved and len(saved) > 2, saved  # the checkpoint written when it was stopped
    assert "Start resumes it" in stopped
    again = tab.on_start(str(faceset_a), str(faceset_b), str(model), f"-n 1000 {TINY}")
    assert again.startswith("Training ")
    _wait_for(lambda: "resuming at iteration" in tab.on_refresh(str(model))[3], "the resumed run's start")
    tab.close()
    resumed = next(line for line in tab.on_refresh(str(model))[3].splitlines() if "resuming at" in line)
    assert int(resumed.rsplit(" ", 1)[-1]) >= 1, resumed  # it went on from the saved iteration
