"""``faceforge diffusion train-lora``: a LoRA of the person in PHOTOS on a Stable Diffusion inpainting
base, for ``faceforge swap --swapper diffusion --lora LORA_DIR`` (see docs/diffusion.md, "Training a
LoRA"). The options are :class:`~faceforge.diffusion.lora_options.LoraTrainOptions`' declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from faceforge.cli.declared import DeclaredFlag, given_settings, with_declared_options
from faceforge.cli.errors import Debug, reported_errors
from faceforge.diffusion.lora_options import LoraTrainOptions
from faceforge.options import declared_options, with_values


def train_lora_command(
    ctx: typer.Context,
    photos: Annotated[list[Path], typer.Argument(help="Photos of the person, one face each.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The LoRA folder to write.")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --output.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", "-y", help="Replace an existing --output folder.")
    ] = False,
    debug: Debug = False,
    *,
    declared_flags: list[DeclaredFlag],
    **declared: Any,
) -> None:
    """Train a LoRA of the person in PHOTOS: aligned crops, template captions, checkpoints scored by
    identity; the best one is written to LORA_DIR/pytorch_lora_weights.safetensors."""
    with reported_errors(debug, Console(stderr=True), "The newest complete checkpoint is kept (--resume)."):
        options = with_values(LoraTrainOptions(), given_settings(ctx, declared_flags, declared, ""))
        from faceforge.analysis.analyser import FaceAnalyser
        from faceforge.diffusion.base_models import resolve_base
        from faceforge.diffusion.lora_run import train_lora

        resolve_base(options.base)
        with FaceAnalyser() as analyser:
            train_lora(photos, output, options, analyser, overwrite=overwrite, resume=resume, echo=typer.echo)


command = with_declared_options(train_lora_command, declared_options(LoraTrainOptions), {})
