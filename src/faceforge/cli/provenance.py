"""``faceforge provenance FILE...``: show the synthetic-media tag faceforge writes into its outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import Debug, reported_errors

UNTAGGED = 1  # exit code when any file carries no faceforge tag (scripts can check outputs with it)


def provenance(
    files: Annotated[list[Path], typer.Argument(help="Images or videos to inspect.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line: path and tag.")] = False,
    debug: Debug = False,
) -> None:
    """Show the machine-readable 'synthetic media' tag of images and videos (exit 1 if one has none)."""
    from faceforge.media.provenance import read_tag

    out = Console(soft_wrap=True)
    untagged = 0
    with reported_errors(debug):
        for path in files:
            tag = read_tag(path)
            untagged += tag is None
            if as_json:
                out.print_json(json.dumps({"path": str(path), "tag": tag}), indent=None)
            elif tag is None:
                out.print(f"{path}: no faceforge provenance tag", highlight=False)
            else:
                details = ", ".join(
                    f"{k}={v}" for k, v in sorted(tag.items()) if k not in ("synthetic", "generator")
                )
                out.print(
                    f"{path}: synthetic, made by {tag.get('generator', '?')} ({details})", highlight=False
                )
    if untagged:
        raise typer.Exit(UNTAGGED)
