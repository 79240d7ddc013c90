"""The trainer: NaN stop and rollback, AMP paths, previews and TensorBoard, the signal stop, loss falls."""

from __future__ import annotations

import dataclasses
import os
import signal

import pytest
import torch

import faceforge.training.loop as loop
from faceforge.nets.autoencoders import ARCHITECTURES, scaled
from faceforge.training.checkpoint import CheckpointStore
from faceforge.training.config import TrainConfig
from faceforge.training.optim import OptimiserConfig
from faceforge.training.trainer import NonFiniteLossError, Trainer, TrainHooks, resolve_amp


def _config(arch: str = "original", **changes) -> TrainConfig:
    base = TrainConfig(
        model=scaled(ARCHITECTURES[arch], 1 / 8),
        optimiser=OptimiserConfig(lr=5e-4),
        batch_size=4,
        iterations=6,
        save_every=2,
        snapshot_every=4,
        preview_every=0,
        workers=0,
    )
    return dataclasses.replace(base, **changes)


def _nan_at(at: int) -> TrainHooks:
    return TrainHooks(loss=lambda it, loss: loss * torch.nan if it == at else loss)


def test_nan_stops_cleanly_and_rollback_resumes_from_the_snapshot(faceset_a, faceset_b, tmp_path):
    trainer = Trainer(_config(), faceset_a, faceset_b, tmp_path, device="cpu", tensorboard=False,
                      hooks=_nan_at(6))  # fmt: skip
    with pytest.raises(NonFiniteLossError) as caught:
        trainer.run()
    message = str(caught.value)
    assert "NaN at iteration 6" in message and "last save is at iteration 4" in message
    assert "--rollback" in message and "snapshot at iteration 4" in message
    assert "\n" not in message and caught.value.exit_code != 0
    assert trainer.iteration == 5
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())  # the bad step never ran
    store = CheckpointStore(tmp_path)
    assert store.read_index().stopped == {"iteration": 6, "reason": "NaN loss"}

    resumed = Trainer(
        _config(), faceset_a, faceset_b, tmp_path, device="cpu", tensorboard=False, rollback=True
    )
    assert resumed.iteration == 4
    assert resumed.run().iteration == 6
    assert store.read_index().stopped is None


def test_an_infinite_loss_stops_too(faceset_a, faceset_b, tmp_path):
    hooks = TrainHooks(loss=lambda it, loss: loss + torch.inf if it == 2 else loss)
    trainer = Trainer(_config(), faceset_a, faceset_b, tmp_path, device="cpu", tensorboard=False, hooks=hooks)
    with pytest.raises(NonFiniteLossError, match=r"infinite at iteration 2.*nothing was saved"):
        trainer.run()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bf16", "fp16"])
def test_amp_paths_train_on_cpu(faceset_a, faceset_b, tmp_path, mode):
    trainer = Trainer(_config(amp=mode, iterations=3, save_every=3), faceset_a, faceset_b, tmp_path,
                      device="cpu", tensorboard=False)  # fmt: skip
    assert trainer.amp_dtype == (torch.bfloat16 if mode == "bf16" else torch.float16)
    assert trainer.scaler.is_enabled() == (mode == "fp16")
    report = trainer.run()
    assert report.iteration == 3 and all(map(lambda v: v == v, report.last_losses.values()))
    state = CheckpointStore(tmp_path).load()[1]
    assert bool(state["scaler"]) == (mode == "fp16")  # the scaler's state resumes with the rest


def test_amp_defaults(monkeypatch):
    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: True)
    assert resolve_amp("auto", torch.device("cpu")) == (torch.bfloat16, False)
    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: False)
    assert resolve_amp("auto", torch.device("cpu")) == (None, False)
    assert resolve_amp("off", torch.device("cuda")) == (None, False)
    assert resolve_amp("fp16", torch.device("cuda")) == (torch.float16, True)


@pytest.mark.slow
def test_previews_tensorboard_and_console_line(faceset_a, faceset_b, tmp_path):
    from io import StringIO

    from rich.console import Console

    from faceforge.media.images import read_image
    from faceforge.media.provenance import read_tag

    buffer = StringIO()
    config = _config("dfaker", iterations=4, preview_every=2, log_every=2, preview_count=3)
    with Trainer(config, faceset_a, faceset_b, tmp_path, device="cpu",
                 console=Console(file=buffer, width=200)) as trainer:  # fmt: skip
        trainer.run()
    grid = read_image(tmp_path / "previews" / "00000004.png")
    out = config.model.output_size
    assert grid.shape[0] == 14 + 3 * out and grid.shape[1] == 6 * out + 4
    assert (tmp_path / "previews" / "preview.png").is_file() and (
        tmp_path / "previews" / "00000002.png"
    ).is_file()
    assert read_tag(tmp_path / "previews" / "preview.png")["synthetic"] is True
    events = list((tmp_path / "logs").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "logs"))
    acc.Reload()
    assert {"loss/a", "loss/b", "loss/mask", "train/examples_per_s"} <= set(acc.Tags()["scalars"])
    assert "preview" in acc.Tags()["images"]
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].split()[0] == "4"
    assert "loss A" in lines[1] and "ex/s" in lines[1] and "mask" in lines[1]


def test_a_signal_finishes_the_iteration_saves_and_stops(faceset_a, faceset_b, tmp_path):
    hooks = TrainHooks(
        loss=lambda it, loss: (os.kill(os.getpid(), signal.SIGTERM), loss)[1] if it == 3 else loss
    )
    trainer = Trainer(_config(iterations=50, save_every=100), faceset_a, faceset_b, tmp_path,
                      device="cpu", tensorboard=False, hooks=hooks)  # fmt: skip
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    report = trainer.run()
    assert report.interrupted == "SIGTERM" and report.iteration == 3 and report.last_save == 3
    assert CheckpointStore(tmp_path).load()[1]["iteration"] == 3
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # restored


@pytest.mark.slow
@pytest.mark.parametrize("optimiser", ["adamw", "radam", "lion"])
def test_loss_falls_with_each_optimiser(faceset_a, faceset_b, tmp_path, optimiser):
    lr = 1e-4 if optimiser == "lion" else 1e-3
    config = _config(iterations=24, save_every=24, snapshot_every=0, batch_size=8, augment=_no_augment(),
                     optimiser=OptimiserConfig(name=optimiser, lr=lr, warmup=2, clip=1.0))  # fmt: skip
    trainer = Trainer(config, faceset_a, faceset_b, tmp_path, device="cpu", tensorboard=False)
    first = trainer.step(next(trainer.streams["a"]), next(trainer.streams["b"]))["total"]
    report = trainer.run()
    assert report.last_losses["total"] < 0.9 * first


def _no_augment():
    from faceforge.training.augment import NO_AUGMENT

    return NO_AUGMENT
