"""Checkpoints: exact resume, atomic saves, snapshots, the best backup, rollback, safe loading."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from pathlib import Path

import pytest
import torch

from faceforge.errors import InputError, WeightsError
from faceforge.models.folder import load_weights, weights_metadata
from faceforge.nets.autoencoders import ARCHITECTURES, scaled
from faceforge.training.checkpoint import CheckpointStore, load_state
from faceforge.training.config import TrainConfig
from faceforge.training.optim import OptimiserConfig
from faceforge.training.trainer import Trainer


def _config(**changes) -> TrainConfig:
    base = TrainConfig(
        model=scaled(ARCHITECTURES["original"], 1 / 8),
        optimiser=OptimiserConfig(name="adam", lr=5e-4, warmup=3, clip=1.0),
        batch_size=4,
        iterations=9,
        save_every=5,
        snapshot_every=0,
        preview_every=0,
        workers=0,
        seed=3,
    )
    return dataclasses.replace(base, **changes)


def _train(config: TrainConfig, a: Path, b: Path, out: Path) -> Trainer:
    trainer = Trainer(config, a, b, out, device="cpu", tensorboard=False)
    trainer.run()
    trainer.close()
    return trainer


@pytest.mark.slow
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(faceset_a, faceset_b, tmp_path):
    # 13 and 10 faces in batches of 4: iteration 5 stops mid-epoch in both streams. The split run loads
    # in a background worker, the whole one in-process: the batches must not depend on that either.
    whole = _train(_config(), faceset_a, faceset_b, tmp_path / "whole")
    _train(_config(iterations=5, workers=1), faceset_a, faceset_b, tmp_path / "split")
    state = load_state(CheckpointStore(tmp_path / "split").resolve() / "state.pt")
    assert state["iteration"] == 5 and state["data"]["a"] == {"epoch": 1, "batch": 2}
    resumed = Trainer(_config(), faceset_a, faceset_b, tmp_path / "split", device="cpu", tensorboard=False)
    assert resumed.iteration == 5
    report = resumed.run()
    assert (report.start_iteration, report.iteration) == (5, 9)
    for (name, p), q in zip(
        whole.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q), name
    opt_whole, opt_resumed = whole.optimizer.state_dict(), resumed.optimizer.state_dict()
    for key, entry in opt_whole["state"].items():
        for field, value in entry.items():
            assert torch.equal(value, opt_resumed["state"][key][field]), (key, field)
    assert resumed.scheduler.get_last_lr() == whole.scheduler.get_last_lr()


def test_model_folder_layout_and_safe_loading(faceset_a, faceset_b, tmp_path):
    out = tmp_path / "model"
    _train(_config(iterations=4, save_every=2, snapshot_every=2, keep_snapshots=1), faceset_a, faceset_b, out)
    config = json.loads((out / "config.json").read_text())
    assert config["format"] == "faceforge-train-config" and config["version"] == 1
    assert TrainConfig.from_dict(config) == _config(
        iterations=4, save_every=2, snapshot_every=2, keep_snapshots=1
    )
    store = CheckpointStore(out)
    index = store.read_index()
    assert index.saves[index.latest].iteration == 4
    assert [index.saves[s].iteration for s in index.snapshots] == [4]  # only the last K=1 kept
    folders = {p.name for p in (out / "saves").iterdir()}
    assert folders == {index.latest, index.best, *index.snapshots}  # nothing else left behind
    weights = load_weights(store.resolve() / "model.safetensors")
    meta = weights_metadata(store.resolve() / "model.safetensors")
    assert meta["format"] == "faceforge-autoencoder" and meta["iteration"] == "4"
    assert json.loads(meta["model_config"]) == config["model"]
    assert all(t.dtype == torch.float32 for t in weights.values())
    # state.pt holds tensors and plain containers only: weights_only loading accepts it.
    state = torch.load(store.resolve() / "state.pt", weights_only=True)
    assert state["iteration"] == 4 and "optimizer" in state and "scheduler" in state


def test_best_backup_follows_the_lowest_loss(tmp_path):
    store = CheckpointStore(tmp_path, keep_snapshots=2)
    weights = {"w": torch.zeros(2)}
    for iteration, loss in ((10, 1.0), (20, 0.5), (30, 0.7), (40, math.nan)):
        store.save(iteration, weights, {"iteration": iteration}, loss=loss, snapshot=iteration % 20 == 0)
    index = store.read_index()
    assert index.saves[index.best].iteration == 20 and index.saves[index.latest].iteration == 40
    assert [index.saves[s].iteration for s in index.snapshots] == [20, 40]
    assert load_state(store.resolve("best") / "state.pt")["iteration"] == 20
    assert len(list((tmp_path / "saves").iterdir())) == 2  # 20 (best, snapshot) and 40


def test_a_save_interrupted_before_its_index_update_leaves_the_last_save_current(tmp_path, monkeypatch):
    store = CheckpointStore(tmp_path)
    store.save(10, {"w": torch.ones(2)}, {"iteration": 10}, loss=1.0)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("faceforge.training.checkpoint.write_json", killed)
    with pytest.raises(KeyboardInterrupt):
        store.save(20, {"w": torch.full((2,), 2.0)}, {"iteration": 20}, loss=0.5)
    monkeypatch.undo()
    weights, state = store.load()
    assert state["iteration"] == 10 and torch.equal(weights["w"], torch.ones(2))
    # The orphan folder of the interrupted save is removed by the next save.
    store.save(30, {"w": torch.zeros(2)}, {"iteration": 30}, loss=0.2)
    assert {p.name for p in (tmp_path / "saves").iterdir()} == {store.read_index().latest}


def test_a_killed_temp_write_never_replaces_the_json(tmp_path):
    store = CheckpointStore(tmp_path)
    store.save(1, {"w": torch.ones(1)}, {"iteration": 1}, loss=1.0)
    before = (tmp_path / "checkpoint.json").read_text()
    with pytest.raises(TypeError):  # not JSON-serialisable: fails while writing the temporary file
        store.write_config({"x": object()})
    assert (tmp_path / "checkpoint.json").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_rollback_goes_back_to_the_newest_snapshot(tmp_path):
    store = CheckpointStore(tmp_path, keep_snapshots=3)
    for iteration in (10, 20, 30):
        store.save(iteration, {"w": torch.ones(1)}, {"iteration": iteration}, loss=1.0 / iteration,
                   snapshot=iteration == 20)  # fmt: skip
    store.mark_stopped(31, "NaN loss")
    assert store.read_index().stopped == {"iteration": 31, "reason": "NaN loss"}
    entry = store.rollback()
    index = store.read_index()
    assert entry.iteration == 20 and index.saves[index.latest].iteration == 20
    assert index.saves[index.best].iteration == 20 and index.stopped is None
    assert sorted(e.iteration for e in index.saves.values()) == [20]


def test_unsafe_or_broken_files_fail_clearly(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "state.pt")
    with pytest.raises(InputError, match=r"is refused: it holds a pickled Python object \(builtins\.print\)"):
        load_state(tmp_path / "state.pt")
    (tmp_path / "state.pt").write_bytes(pickle.dumps({"iteration": 3}))  # not torch.save's format
    with pytest.raises(InputError, match=r"The training state .* is not a readable PyTorch file") as plain:
        load_state(tmp_path / "state.pt")
    assert "weights_only" not in str(plain.value)  # never advise unsafe loading
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(WeightsError, match="not readable safetensors"):
        load_weights(tmp_path / "model.safetensors")
    with pytest.raises(InputError, match="no latest checkpoint"):
        CheckpointStore(tmp_path / "empty").resolve()


def test_resuming_with_another_layout_is_refused(faceset_a, faceset_b, tmp_path):
    _train(_config(iterations=2, save_every=2, workers=0), faceset_a, faceset_b, tmp_path)
    other = _config(model=scaled(ARCHITECTURES["lightweight"], 1 / 8), workers=0)
    with pytest.raises(InputError, match="another layout"):
        Trainer(other, faceset_a, faceset_b, tmp_path, device="cpu", tensorboard=False)
