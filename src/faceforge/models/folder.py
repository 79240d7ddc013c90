"""A model folder as a reader sees it: its configuration, its checkpoint index and the weights of a save.

A model folder::

    MODEL_DIR/
      config.json          the training configuration (human-readable, versioned)
      checkpoint.json      the index: which save is the latest, the best, the snapshots; written last
      saves/00001000-3fa2c1/  one save: model.safetensors (weights + the model config in its metadata),
                           state.pt (optimiser, schedule, AMP scaler, RNG, data position, iteration)
      previews/, logs/     preview grids and TensorBoard events

:class:`~faceforge.training.checkpoint.CheckpointStore` writes it (atomically, see there); swappers read
it through :class:`ModelFolder` without importing any of the training code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import safe_open

from faceforge.errors import InputError, WeightsError
from faceforge.weights.loading import load_state_dict

CONFIG_FILE = "config.json"
INDEX_FILE = "checkpoint.json"
SAVES_DIR = "saves"
MODEL_FILE = "model.safetensors"
STATE_FILE = "state.pt"
INDEX_FORMAT = "faceforge-checkpoints"
INDEX_VERSION = 1


#: The largest JSON file a model folder may hold (its config, index and metadata are a few kB): a bigger
#: one is not faceforge's and is refused before it is read, so a crafted folder cannot exhaust memory.
MAX_JSON_BYTES = 16 << 20


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """The JSON in ``path``; an :class:`InputError` naming the file when it is missing, unreadable or
    over ``limit`` bytes."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise InputError(
                f"{path} holds more than {limit >> 20} MB; a faceforge model folder's JSON files are a few "
                "kB, so it is not read."
            )
        return json.loads(data.decode("utf-8"))
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


class ModelFolder:
    """Reads one model folder: its ``config.json``, its index and where each save lies."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)

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

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise InputError(f"{self.model_dir} is not a faceforge model folder (no {CONFIG_FILE}).")
        config = read_json(self.config_path)
        if not isinstance(config, dict):
            raise InputError(f"{self.config_path} does not hold a settings object.")
        return config

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


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """The weights of a save (its ``model.safetensors``), read and refused as every weight file is."""
    return load_state_dict(path)


def weights_metadata(path: Path) -> dict[str, str]:
    """The metadata stored beside the tensors of a safetensors file (the model's own description)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except FileNotFoundError:
        raise WeightsError(f"The weight file {path} is missing.") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"The weight file {path} is not readable safetensors ({exc}).") from None
