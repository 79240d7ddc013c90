"""Checkpoints of a training run, written so that a kill at any moment never corrupts the last save.

A model folder::

    MODEL_DIR/
      config.json          the training configuration (human-readable, versioned)
      checkpoint.json      the index: which save is the latest, the best, the snapshots; written last
      saves/00001000-3fa2c1/  one save: model.safetensors (weights + the model config in its metadata),
                           state.pt (optimiser, schedule, AMP scaler, RNG, data position, iteration)
      previews/, logs/     preview grids and TensorBoard events

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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import safe_open as _safe_open
from safetensors.torch import save_file

from faceforge.errors import InputError, OutputError, WeightsError
from faceforge.weights.loading import load_state_dict

CONFIG_FILE = "config.json"
INDEX_FILE = "checkpoint.json"
SAVES_DIR = "saves"
MODEL_FILE = "model.safetensors"
STATE_FILE = "state.pt"
WEIGHTS_FORMAT = "faceforge-autoencoder"
INDEX_FORMAT = "faceforge-checkpoints"
INDEX_VERSION = 1
_TEMP_PREFIX = ".tmp-"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not supported (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """A temporary sibling of ``path``, flushed and renamed over ``path`` when the block succeeds."""
    temp = path.parent / f"{_TEMP_PREFIX}{secrets.token_hex(6)}-{path.name}"
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_json(path: Path, data: object) -> None:
    """Indented, key-ordered JSON, written atomically."""
    with atomic_file(path) as temp:
        temp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not readable JSON ({exc}).") from None


@dataclass(slots=True)
class SaveEntry:
    iteration: int
    loss: float | None  # mean training loss over the interval before the save


@dataclass(slots=True)
class CheckpointIndex:
    """What ``checkpoint.json`` holds. Save names are folder names under ``saves/``."""

    saves: dict[str, SaveEntry] = field(default_factory=dict)
    latest: str | None = None
    best: str | None = None
    snapshots: list[str] = field(default_factory=list)
    stopped: dict[str, object] | None = None  # why and where the last run stopped on a non-finite loss

    def to_dict(self) -> dict[str, object]:
        return {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "latest": self.latest,
            "best": self.best,
            "snapshots": list(self.snapshots),
            "saves": {name: asdict(entry) for name, entry in sorted(self.saves.items())},
            "stopped": self.stopped,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path) -> CheckpointIndex:
        if data.get("format") != INDEX_FORMAT:
            raise InputError(f"{path} is not a faceforge checkpoint index.")
        if int(data.get("version", 0)) > INDEX_VERSION:
            raise InputError(f"{path} was written by a newer faceforge; update faceforge to read it.")
        saves = {name: SaveEntry(int(e["iteration"]), e.get("loss")) for name, e in data["saves"].items()}
        snapshots = list(data.get("snapshots", []))
        return cls(saves, data.get("latest"), data.get("best"), snapshots, data.get("stopped"))


def save_name(iteration: int) -> str:
    """A fresh folder name: the iteration, then a random tag so a save never lands on an existing one."""
    return f"{iteration:08d}-{secrets.token_hex(3)}"


class CheckpointStore:
    """Reads and writes the checkpoints of one model folder. Only one process (rank 0) writes."""

    def __init__(self, model_dir: Path, keep_snapshots: int = 3) -> None:
        self.model_dir = Path(model_dir)
        self.keep_snapshots = max(0, keep_snapshots)

    @property
    def index_path(self) -> Path:
        return self.model_dir / INDEX_FILE

    @property
    def config_path(self) -> Path:
        return self.model_dir / CONFIG_FILE

    def has_checkpoint(self) -> bool:
        """Whether the folder holds a save to resume from (an index naming a latest save)."""
        return self.read_index().latest is not None

    def read_index(self) -> CheckpointIndex:
        if not self.index_path.is_file():
            return CheckpointIndex()
        return CheckpointIndex.from_dict(read_json(self.index_path), self.index_path)

    def write_config(self, data: Mapping[str, object]) -> None:
        self.model_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.config_path, data)

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise InputError(f"{self.model_dir} is not a faceforge model folder (no {CONFIG_FILE}).")
        return read_json(self.config_path)

    def save_path(self, name: str) -> Path:
        return self.model_dir / SAVES_DIR / name

    def resolve(self, which: str = "latest") -> Path:
        """The folder of the ``latest``, ``best`` or newest ``snapshot`` save, or of a save by name."""
        index = self.read_index()
        if which == "latest":
            name = index.latest
        elif which == "best":
            name = index.best
        elif which == "snapshot":
            name = index.snapshots[-1] if index.snapshots else None
        else:
            name = which if which in index.saves else None
        if name is None:
            raise InputError(f"{self.model_dir} holds no {which} checkpoint yet.")
        return self.save_path(name)

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
        temp = saves / f"{_TEMP_PREFIX}{secrets.token_hex(6)}"
        temp.mkdir()
        try:
            tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in weights.items()}
            meta = {"format": WEIGHTS_FORMAT, "iteration": str(iteration), **(metadata or {})}
            save_file(tensors, str(temp / MODEL_FILE), metadata=meta)
            torch.save(dict(state), temp / STATE_FILE)
            for file in (MODEL_FILE, STATE_FILE):
                with open(temp / file, "rb+") as handle:
                    os.fsync(handle.fileno())
            _fsync_dir(temp)
            final = saves / name
            index = self.read_index()
            os.replace(temp, final)
            _fsync_dir(saves)
        except OSError as exc:
            shutil.rmtree(temp, ignore_errors=True)
            raise OutputError(f"Cannot write a checkpoint in {saves}: {exc.strerror or exc}.") from exc
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise

        finite = loss is not None and math.isfinite(loss)
        index.saves[name] = SaveEntry(iteration, float(loss) if finite else None)
        index.latest = name
        best_loss = index.saves[index.best].loss if index.best in index.saves else None
        if finite and (best_loss is None or float(loss) < best_loss):  # type: ignore[arg-type]
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


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """The weights of a save (its ``model.safetensors``), read and refused as every weight file is."""
    return load_state_dict(path)


def weights_metadata(path: Path) -> dict[str, str]:
    try:
        with _safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except FileNotFoundError:
        raise WeightsError(f"The weight file {path} is missing.") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"The weight file {path} is not readable safetensors ({exc}).") from None


def load_state(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"The training state {path} is missing.") from None
    except Exception as exc:  # an unpickling error is any of several types
        raise InputError(f"The training state {path} is unreadable or unsafe to load ({exc}).") from None
