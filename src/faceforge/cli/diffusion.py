"""``faceforge diffusion``: the Stable Diffusion path's own commands. ``inspect`` checks, offline, that a
base model loads as an inpainting pipeline (and that a LoRA fits it) before a long swap; the swap itself
is ``faceforge swap --swapper diffusion``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faceforge.cli import diffusion_train
from faceforge.cli.errors import Debug, reported_errors

app = typer.Typer(
    name="diffusion",
    help="Stable Diffusion inpainting with a LoRA of the source person (swap with --swapper diffusion).",
    no_args_is_help=True,
)


@app.callback()
def group() -> None:
    """Stable Diffusion inpainting with a LoRA of the source person (swap with --swapper diffusion)."""
    # A callback keeps `diffusion` a group while it has one command, so `diffusion inspect` stays its name.


@app.command("inspect")
def inspect_base(
    base: Annotated[
        str,
        typer.Argument(help="A local diffusers folder, a single checkpoint file or a `weights add` name."),
    ],
    lora: Annotated[Path | None, typer.Option("--lora", help="Also load this LoRA into it.")] = None,
    base_config: Annotated[
        Path | None,
        typer.Option("--base-config", help="A single-file base: a diffusers folder of its family's configs."),
    ] = None,
    debug: Debug = False,
) -> None:
    """Load BASE offline as an inpainting pipeline on the CPU and say what it is."""
    from faceforge.diffusion.base_models import Runtime, load_inpaint_pipeline, load_lora

    with reported_errors(debug, Console(stderr=True)):
        pipeline = load_inpaint_pipeline(
            base, str(base_config) if base_config else None, Runtime(device="cpu")
        )
        size = int(pipeline.unet.config.sample_size) * int(pipeline.vae_scale_factor)
        typer.echo(f"{base}: {type(pipeline).__name__}, native resolution {size} px")
        if lora is not None:
            load_lora(pipeline, str(lora))
            typer.echo(f"LoRA {lora}: fits ({', '.join(pipeline.get_list_adapters())})")


app.command("train-lora")(diffusion_train.command)
