"""The checkpoints of a LoRA run, under ``LORA_DIR/checkpoints/step-NNNNNN/``: each holds
``pytorch_lora_weights.safetensors`` (the layout diffusers' ``load_lora_weights`` reads, so any checkpoint
folder is a ``--lora``), ``state.pt`` (the raw peft weights, the AdamW state and the losses so far, read
with ``torch.load(weights_only=True)``) and ``scores.json`` (its validation scores). A checkpoint folder is
written whole into a hidden temporary folder and renamed into place (media/atomic.py), so a run killed
at any moment resumes from its newest complete checkpoint."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import torch

from faceforge.diffusion.lora_report import CheckpointScore
from faceforge.diffusion.lora_train import LoraTrainer, TrainProgress
from faceforge.errors import InputError
from faceforge.media.atomic import atomic_folder, atomic_output

LORA_FILE = "pytorch_lora_weights.safetensors"
STATE_FILE = "state.pt"
SCORES_FILE = "scores.json"
CHECKPOINTS = "checkpoints"
_NAME = re.compile(r"step-(\d{6,})")


def checkpoint_dir(output: Path, step: int) -> Path:
    return output / CHECKPOINTS / f"step-{step:06d}"


def saved_checkpoints(output: Path) -> list[tuple[int, Path]]:
    """The complete checkpoints of ``output`` by step, oldest first (temporaries are hidden)."""
    folder = output / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.fullmatch(p.name))]
    return sorted(found)


def save_checkpoint(trainer: LoraTrainer, output: Path, score: CheckpointScore) -> Path:
    """Write the trainer's LoRA, optimiser state and ``score`` as one checkpoint folder."""
    from peft.utils import get_peft_model_state_dict

    path = checkpoint_dir(output, trainer.progress.step)
    with atomic_folder(path, overwrite=True) as temp:
        type(trainer.pipeline).save_lora_weights(
            temp, unet_lora_layers=get_peft_model_state_dict(trainer.unet), safe_serialization=True
        )
        state = {
            "step": trainer.progress.step,
            "losses": torch.tensor(trainer.progress.losses, dtype=torch.float64),
            "lora": trainer.lora_state(),
            "optimizer": trainer.optimizer.state_dict(),
        }
        torch.save(state, temp / STATE_FILE)
        (temp / SCORES_FILE).write_text(json.dumps(score.as_json(), indent=2) + "\n")
    return path


def load_checkpoint_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], TrainProgress]:
    state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
    losses = [float(v) for v in state["losses"].tolist()]
    return state["lora"], state["optimizer"], TrainProgress(int(state["step"]), losses)


def read_score(path: Path) -> CheckpointScore:
    return CheckpointScore.from_json(json.loads((path / SCORES_FILE).read_text()))


def publish_best(output: Path, best: Path) -> None:
    """Copy the chosen checkpoint's LoRA to ``output`` itself, so ``--lora LORA_DIR`` loads it."""
    with atomic_output(output / LORA_FILE, durable=True) as temp:
        shutil.copyfile(best / LORA_FILE, temp)


def check_resumable(stored: dict[str, Any], given: dict[str, Any]) -> None:
    """A resumed run must train the same LoRA: the settings that shape it must equal the stored ones."""
    free = {"steps", "save_every", "validation_images", "validation_steps", "validation_strength", "device"}
    changed = sorted(k for k in given if k not in free and stored.get(k) != given[k])
    if changed:
        names = ", ".join(f"{k} ({stored.get(k)!r} stored, {given[k]!r} now)" for k in changed)
        raise InputError(
            f"The run cannot resume with other settings: {names}; use --overwrite to start anew."
        )
