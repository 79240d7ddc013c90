"""One ``train-lora`` run from photos to a LoRA folder: crops and captions, training with a checkpoint
(validated and scored) every ``save_every`` steps, resume from the newest checkpoint, the best checkpoint
published as ``LORA_DIR/pytorch_lora_weights.safetensors`` and the run reported (training.json,
report.html, TensorBoard scalars under ``tensorboard/`` when tensorboard is installed)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.diffusion.captions import Captioner
from faceforge.diffusion.faces_data import training_crops
from faceforge.diffusion.lora_checkpoints import (
    check_resumable,
    checkpoint_dir,
    load_checkpoint_state,
    publish_best,
    read_score,
    save_checkpoint,
    saved_checkpoints,
)
from faceforge.diffusion.lora_options import LoraTrainOptions
from faceforge.diffusion.lora_report import (
    CheckpointScore,
    IdentityScorer,
    choose_best,
    validation_images,
    write_report,
)
from faceforge.errors import OutputError
from faceforge.media.images import read_image
from faceforge.outputs import check_output

SETTINGS_FILE = "settings.json"


def _settings(options: LoraTrainOptions) -> dict[str, Any]:
    return dataclasses.asdict(options)


def prepare_output(output: Path, photos: Sequence[Path], overwrite: bool, resume: bool) -> bool:
    """Whether the run resumes; refuses an output that is an input, or an existing one without
    --resume or --overwrite."""
    check_output(output, photos, overwrite=overwrite)
    if output.exists() and not output.is_dir():
        raise OutputError(f"The output {output} is a file; a LoRA is written as a folder.")
    if output.is_dir() and any(output.iterdir()):
        if resume and (output / SETTINGS_FILE).is_file():
            return True
        if not overwrite:
            raise OutputError(
                f"The folder {output} already exists; pass --resume to continue its run or --overwrite to "
                "start anew."
            )
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    return False


def _tensorboard(output: Path, purge_step: int) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(output / "tensorboard"), purge_step=purge_step)


def train_lora(
    photos: Sequence[Path],
    output: Path,
    options: LoraTrainOptions,
    analyser: FaceAnalyser,
    overwrite: bool = False,
    resume: bool = False,
    echo: Callable[[str], None] = print,
) -> CheckpointScore:
    """Train (or continue) the LoRA of ``photos`` into ``output``; returns the best checkpoint's score."""
    import json

    from faceforge.diffusion.lora_train import LoraTrainer, load_training_pipeline
    from faceforge.media.atomic import atomic_output, pause_for_test

    resuming = prepare_output(output, photos, overwrite, resume)
    settings = _settings(options)
    if resuming:
        check_resumable(json.loads((output / SETTINGS_FILE).read_text())["settings"], settings)
    describe = Captioner(options.captioner) if options.captioner else None

    def caption(crop: np.ndarray) -> str:
        return options.caption(describe(crop) if describe is not None else "")

    crops = training_crops(photos, analyser, options.resolution, options.margin, caption)
    pipeline = load_training_pipeline(options)
    trainer = LoraTrainer(pipeline, crops, options)
    scores: list[CheckpointScore] = []
    checkpoints = saved_checkpoints(output) if resuming else []
    if checkpoints:
        step, newest = checkpoints[-1]
        trainer.restore(*load_checkpoint_state(newest))
        scores = [read_score(path) for _, path in checkpoints]
        echo(f"Resuming at step {step} from {newest}.")
    with atomic_output(output / SETTINGS_FILE) as temp:
        temp.write_text(
            json.dumps(
                {"settings": settings, "captions": {str(c.source): c.caption for c in crops}}, indent=2
            )
            + "\n"
        )
    echo(f"{len(crops)} training crops of {options.resolution} px; caption: {crops[0].caption!r}")
    scorer = None
    if options.validation_images:
        # The identity of the photos themselves, at their full size (a crop may be too small to embed).
        scorer = IdentityScorer(analyser, [read_image(c.source) for c in crops])
    writer = _tensorboard(output, trainer.progress.step + 1)
    since = [trainer.progress.step]

    def after_step(step: int, loss: float) -> None:
        if writer is not None:
            writer.add_scalar("loss", loss, step)
        if step % options.save_every and step != options.steps:
            return
        recent = trainer.progress.losses[since[0] :]
        since[0] = step
        distances: tuple[float | None, ...] = ()
        if scorer is not None:
            images = validation_images(
                pipeline,
                crops,
                options.validation_images,
                options.validation_steps,
                options.validation_strength,
                options.seed,
            )
            distances = tuple(scorer(image) for image in images)
        score = CheckpointScore(step, sum(recent) / max(1, len(recent)), distances)
        save_checkpoint(trainer, output, score)
        pause_for_test("after-checkpoint")
        scores.append(score)
        if writer is not None and score.mean_distance is not None:
            writer.add_scalar("identity_distance", score.mean_distance, step)
        echo(score.summary())

    trainer.run(options.steps, after_step)
    if writer is not None:
        writer.close()
    if not scores:
        raise OutputError(f"The run in {output} has no checkpoint yet; give more --steps than it has done.")
    best = choose_best(scores)
    publish_best(output, checkpoint_dir(output, best.step))
    write_report(output, settings, trainer.progress.losses, scores, best)
    echo(f"Best checkpoint: {best.summary()} -> {output}")
    return best
