"""``faceforge clean PATH...``: remove the temporary files and folders that killed runs left behind.

Outputs are written under hidden ``.faceforge-tmp-*`` names and renamed when complete; a run killed
with SIGKILL (or a power cut) cannot remove its temporary, nor its ``.faceforge-lock-*`` output lock
file (the lock itself dies with the process; the file stays). A later run into the same folder removes
those whose owner has exited; this command removes the rest, including those of older faceforge
versions whose names carry no owner. A temporary of a run that is still going is never touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import Debug, reported_errors


def _folders(root: Path, recursive: bool) -> list[Path]:
    if not recursive:
        return [root]
    # Temporary folders are removed whole, so their insides are not searched.
    inside = (p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())
    return [
        root,
        *sorted(
            p for p in inside if not any(part.startswith(".faceforge-") for part in p.relative_to(root).parts)
        ),
    ]


def clean(
    paths: Annotated[
        list[Path], typer.Argument(help="Folders to clean (output folders, facesets).", show_default=False)
    ],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Clean sub-folders too.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="List what would be removed; remove nothing.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: removed, kept (owner running), failed.")
    ] = False,
    debug: Debug = False,
) -> None:
    """Remove temporary files that interrupted faceforge runs left in folders; keep those of running ones."""
    from faceforge.errors import InputError, OutputError
    from faceforge.media.atomic import find_temporaries, remove_temporaries
    from faceforge.media.locking import holder_pid
    from faceforge.outputs import sweep_locks

    out = Console(soft_wrap=True)
    with reported_errors(debug):
        for path in paths:
            if not path.is_dir():
                raise InputError(f"Cannot clean {path}: it is not a folder.")
        removed: list[Path] = []
        kept: list[tuple[Path, int | None]] = []
        failed: list[Path] = []
        for root in paths:
            for folder in _folders(root, recursive):
                found = find_temporaries(folder)
                kept += [(t.path, t.owner) for t in found if t.alive and t.owner is not None]
                stale = [t.path for t in found if not t.alive]
                done = stale if dry_run else remove_temporaries(stale)
                removed += done
                failed += [p for p in stale if p not in done]
                free_locks, held_locks = sweep_locks(folder, dry_run)
                removed += free_locks
                kept += [(lock, holder_pid(lock)) for lock in held_locks]
        if as_json:
            report = {
                "removed": [str(p) for p in removed],
                "kept": [{"path": str(p), "owner_pid": pid} for p, pid in kept],
                "failed": [str(p) for p in failed],
                "dry_run": dry_run,
            }
            out.print_json(json.dumps(report), indent=None)
        else:
            verb = "would remove" if dry_run else "removed"
            for path in removed:
                out.print(f"{verb} {path}", highlight=False)
            for path, pid in kept:
                out.print(f"kept {path}: process {pid}, which is writing it, is running", highlight=False)
            for path in failed:
                out.print(f"could not remove {path}", highlight=False)
            out.print(f"{verb} {len(removed)} temporary file(s), kept {len(kept)}.", highlight=False)
        if failed:
            raise OutputError(f"{len(failed)} temporary file(s) could not be removed (see above).")
