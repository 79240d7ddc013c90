"""Checkpoints of a training run, written so that a kill at any moment never corrupts the last save.

The folder's layout is described in :mod:`faceforge.models.folder`, which reads it for the swappers.
Every save is written into a hidden temporary folder, flushed to disk, renamed into ``saves/`` and only
then made current by atomically replacing ``checkpoint.json``; folders the index no longer names are
deleted afterwards. A kill before the index is replaced leaves the previous save current and complete.
``state.pt`` holds only tensors and plain containers and is read with ``torch.load(weights_only=True)``;
weights are safetensors. Snapshots (every N iterations, the last K kept) and the best-loss save are
simply saves the index keeps; ``rollback`` makes the newest snapshot current again.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from faceforge.errors import InputError, OutputError, WeightsError
from faceforge.media.atomic import atomic_output, fsync_path, temp_name
from faceforge.models.folder import (
    MODEL_FILE,
    SAVES_DIR,
    STATE_FILE,
    CheckpointIndex,
    ModelFolder,
    SaveEntry,
    load_weights,
)
from faceforge.weights.loading import load_checkpoint

WEIGHTS_FORMAT = "faceforge-autoencoder"


def write_json(path: Path, data: object) -> None:
    """Indented, key-ordered JSON, written atomically and durably."""
    with atomic_output(path, durable=True) as temp:
        temp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def save_name(iteration: int) -> str:
    """A fresh folder name: the iteration, then a random tag so a save never lands on an existing one."""
    return f"{iteration:08d}-{secrets.token_hex(3)}"


class CheckpointStore(ModelFolder):
    """Reads and writes the checkpoints of one model folder. Only one process (rank 0) writes."""

    def __init__(self, model_dir: Path, keep_snapshots: int = 3) -> None:
        super().__init__(model_dir)
        self.keep_snapshots = max(0, keep_snapshots)

    def write_config(self, data: Mapping[str, object]) -> None:
        self.model_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.config_path, data)

    # -- writing ---------------------------------------------------------------------------------------

    def save(
        self,
        iteration: int,
        weights: Mapping[str, torch.Tensor],
        state: Mapping[str, object],
        *,
        loss: float | None,
        snapshot: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Write a save at ``iteration`` and make it the latest (and the best when its loss is the lowest so
        far)."""
        saves = self.model_dir / SAVES_DIR
        saves.mkdir(parents=True, exist_ok=True)
        name = save_name(iteration)
        temp = saves / temp_name(name)  # owner-stamped: a killed run's is removed by `faceforge clean`
        temp.mkdir()
        try:
            tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in weights.items()}
            meta = {"format": WEIGHTS_FORMAT, "iteration": str(iteration), **(metadata or {})}
            save_file(tensors, str(temp / MODEL_FILE), metadata=meta)
            torch.save(dict(state), temp / STATE_FILE)
            for file in (MODEL_FILE, STATE_FILE):
                with open(temp / file, "rb+") as handle:
                    os.fsync(handle.fileno())
            fsync_path(temp)
            final = saves / name
            index = self.read_index()
            os.replace(temp, final)
            fsync_path(saves)
        except OSError as exc:
            shutil.rmtree(temp, ignore_errors=True)
            raise OutputError(f"Cannot write a checkpoint in {saves}: {exc.strerror or exc}.") from exc
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise

        score = float(loss) if loss is not None and math.isfinite(loss) else None
        index.saves[name] = SaveEntry(iteration, score)
        index.latest = name
        best_loss = index.saves[index.best].loss if index.best in index.saves else None
        if score is not None and (best_loss is None or score < best_loss):
            index.best = name
        if snapshot and self.keep_snapshots:
            index.snapshots = [s for s in index.snapshots if s != name] + [name]
            index.snapshots = index.snapshots[-self.keep_snapshots :]
        index.stopped = None
        self._commit(index)

    def mark_stopped(self, iteration: int, reason: str) -> None:
        """Record in the index that training stopped at ``iteration`` (a non-finite loss)."""
        index = self.read_index()
        index.stopped = {"iteration": iteration, "reason": reason}
        self.model_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.index_path, index.to_dict())

    def rollback(self) -> SaveEntry:
        """Make the newest snapshot the latest save again, forgetting every save after it."""
        index = self.read_index()
        if not index.snapshots:
            raise InputError(f"{self.model_dir} has no snapshot to roll back to.")
        name = index.snapshots[-1]
        keep_until = index.saves[name].iteration
        for other, entry in list(index.saves.items()):
            if entry.iteration > keep_until:
                index = _without(index, other)
        index.latest = name
        if index.best is None:
            scored = [(e.loss, n) for n, e in index.saves.items() if e.loss is not None]
            index.best = min(scored)[1] if scored else None
        index.stopped = None
        self._commit(index)
        return index.saves[name]

    def _commit(self, index: CheckpointIndex) -> None:
        keep = {index.latest, index.best, *index.snapshots}
        index.saves = {name: entry for name, entry in index.saves.items() if name in keep}
        write_json(self.index_path, index.to_dict())
        for folder in (self.model_dir / SAVES_DIR).iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------------------

    def load(self, which: str = "latest") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Weights and training state of a save (CPU tensors)."""
        folder = self.resolve(which)
        return load_weights(folder / MODEL_FILE), load_state(folder / STATE_FILE)


def _without(index: CheckpointIndex, name: str) -> CheckpointIndex:
    index.saves.pop(name, None)
    index.snapshots = [s for s in index.snapshots if s != name]
    if index.latest == name:
        index.latest = None
    if index.best == name:
        index.best = None
    return index


def load_state(path: Path) -> dict[str, Any]:
    """The optimiser and loop state of a save, read with the weights-only loader (whose refusals never
    repeat torch's advice to load with ``weights_only=False``)."""
    if not path.is_file():
        raise InputError(f"The training state {path} is missing.")
    try:
        state = load_checkpoint(path, what="training state")
    except WeightsError as exc:
        raise InputError(str(exc)) from None
    if not isinstance(state, dict):
        raise InputError(f"The training state {path} holds a {type(state).__name__}, not a mapping.")
    return state
