"""``faceforge faces``: compare faces, and build and curate facesets (extract, group, sort, remove, keep,
clean, preview, stats). Thin wrappers over :mod:`faceforge.facesets`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from faceforge.analysis.identity import SAME_PERSON
from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.faces_compare import DEFAULT_IDENTITY_NAME, IdentityName, compare
from faceforge.cli.faces_report import print_stats, report_skipped
from faceforge.errors import InputError, OptionError

app = typer.Typer(
    name="faces",
    help="Compare faces, and extract and curate facesets (aligned crops plus an SQLite index).",
    no_args_is_help=True,
)

app.command()(compare)


# -- facesets ------------------------------------------------------------------------------------------

FacesetArg = Annotated[Path, typer.Argument(help="The faceset folder (or its faceset.db).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
QuietSummary = Annotated[
    bool, typer.Option("--quiet", "-q", help="No summary line (errors are still shown).")
]
Overwrite = Annotated[bool, typer.Option("--overwrite", "-y", help="Replace an existing output file.")]


def _open(faceset: Path, write: bool = False):
    from faceforge.facesets.store import FacesetStore

    return FacesetStore.open(faceset, write=write)


def _reference_embedding(photos: list[Path], identity: str) -> np.ndarray:
    from faceforge.analysis.analyser import FaceAnalyser
    from faceforge.analysis.identity import create_identity_encoder
    from faceforge.facesets.extract import load_reference

    with FaceAnalyser(identity=create_identity_encoder(identity)) as analyser:
        return load_reference(analyser, photos, SAME_PERSON).embedding


@app.command()
def extract(
    inputs: Annotated[list[Path], typer.Argument(help="Videos, images and folders of them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The faceset folder (created or resumed).")],
    size: Annotated[int, typer.Option(help="Aligned crop size in pixels.")] = 256,
    template: Annotated[str, typer.Option(help="Alignment template: full-face or arcface.")] = "full-face",
    every: Annotated[int, typer.Option(help="Take every Nth video frame.")] = 1,
    min_face: Annotated[int, typer.Option(help="Smallest face to keep, in source pixels.")] = 0,
    min_sharpness: Annotated[
        float,
        typer.Option(help="Least sharpness to keep (sharp close-ups read 150-600, blurred ones under 50)."),
    ] = 0.0,
    max_yaw: Annotated[float | None, typer.Option(help="Largest |yaw| in degrees to keep.")] = None,
    max_pitch: Annotated[float | None, typer.Option(help="Largest |pitch| in degrees to keep.")] = None,
    reference: Annotated[
        list[Path] | None, typer.Option(help="Keep only faces of the person in this photo (repeatable).")
    ] = None,
    reference_threshold: Annotated[
        float, typer.Option(help="Identity distance under which a face is the reference person.")
    ] = SAME_PERSON,
    image_format: Annotated[str, typer.Option("--format", help="Crop file format: jpg or png.")] = "jpg",
    identity_every: Annotated[
        int,
        typer.Option(
            help="A followed video face's identity is computed on every Nth face of its track (1: all)."
        ),
    ] = 8,
    chunk: Annotated[
        int, typer.Option(help="Video frames analysed per committed batch (at most this much is redone).")
    ] = 128,
    max_faces: Annotated[
        int, typer.Option(help="Faces kept per frame or photo, largest first (the rest are counted).")
    ] = 100,
    identity: Annotated[
        IdentityName, typer.Option("--identity-backend", help="Runtime of dlib's identity network.")
    ] = DEFAULT_IDENTITY_NAME,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Detect, align and index every face (or the --reference person's) of videos, images and folders.

    Killed at any moment, the same command resumes where it stopped: nothing is lost or duplicated."""
    from faceforge.cli.progress import progress_bar

    console = Console(stderr=True)
    with reported_errors(debug):
        from faceforge.analysis.analyser import FaceAnalyser
        from faceforge.analysis.identity import create_identity_encoder
        from faceforge.facesets.extract import ExtractOptions, extract_faceset
        from faceforge.outputs import check_output

        check_output(output, inputs, overwrite=True)  # a faceset grows; the store locks it for writing
        options = ExtractOptions(
            size=size,
            template=template,
            image_format=image_format,
            every=every,
            min_size=min_face,
            min_sharpness=min_sharpness,
            max_yaw=max_yaw,
            max_pitch=max_pitch,
            reference_threshold=reference_threshold,
            identity_every=identity_every,
            chunk=chunk,
            max_faces=max_faces,
        )
        options.validate()
        with (
            FaceAnalyser(identity=create_identity_encoder(identity.value)) as analyser,
            progress_bar("extracting", "frames", enabled=not quiet) as progress,
        ):
            report = extract_faceset(inputs, output, options, analyser, reference or (), progress)
        rejected = ", ".join(f"{n} {why}" for why, n in sorted(report.rejected.items()))
        console.print(
            f"{report.faces_added} faces added from {report.sources_done} sources"
            + (f" ({report.sources_skipped} already done)" if report.sources_skipped else "")
            + (f"; rejected: {rejected}" if rejected else "")
            + f" -> {output}",
            highlight=False,
        )
        report_skipped(console, report)


def _dedupe(store, quiet: bool, console: Console) -> None:
    from faceforge.cli.progress import progress_bar
    from faceforge.facesets.curate import find_duplicates, remove_faces

    with progress_bar("finding duplicates", "faces", enabled=not quiet) as progress:
        duplicates = find_duplicates(store, progress=progress)
    remove_faces(store, duplicates)
    console.print(f"{len(duplicates)} near-duplicate faces moved to removed/.", highlight=False)


@app.command()
def group(
    faceset: FacesetArg,
    by: Annotated[str, typer.Option(help="identity, yaw or pitch.")] = "identity",
    threshold: Annotated[
        float, typer.Option(help="Identity clusters stop merging at this average distance.")
    ] = SAME_PERSON,
    folders: Annotated[bool, typer.Option(help="Move crops into faces/group_NNN/ folders.")] = True,
    dedupe: Annotated[bool, typer.Option(help="First remove near-identical faces.")] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Put faces into groups: identity clusters (one person each, group 1 the largest) or pose bins."""
    from faceforge.cli.progress import progress_bar

    console = Console(stderr=True)
    with reported_errors(debug):
        from faceforge.facesets.curate import group_faces

        with _open(faceset, write=True) as store:
            if dedupe:
                _dedupe(store, quiet, console)
            with progress_bar("grouping", "faces", enabled=not quiet) as progress:
                report = group_faces(store, by, threshold, folders=folders, progress=progress)
        sizes = ", ".join(f"{i + 1}: {n}" for i, n in enumerate(report.groups[:12]))
        more = f", ... ({len(report.groups)} groups)" if len(report.groups) > 12 else ""
        console.print(f"groups by {by} -> {sizes}{more}", highlight=False)


@app.command(name="sort")
def sort_cmd(
    faceset: FacesetArg,
    by: Annotated[
        str, typer.Option(help="identity, reference, yaw, pitch, sharpness, brightness, colour or source.")
    ] = "identity",
    reference: Annotated[
        list[Path] | None, typer.Option(help="Photo(s) of the person to sort by (with --by reference).")
    ] = None,
    dedupe: Annotated[bool, typer.Option(help="First remove near-identical faces.")] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Rename crops with their rank (00000_KEY.jpg) so a file browser shows them in that order."""
    from faceforge.cli.progress import progress_bar

    console = Console(stderr=True)
    with reported_errors(debug):
        from faceforge.facesets.curate import sort_faces

        with _open(faceset, write=True) as store:
            embedding = None
            if reference:
                embedding = _reference_embedding(reference, store.info.get("identity", "torch"))
            if dedupe:
                _dedupe(store, quiet, console)
            with progress_bar("sorting", "faces", enabled=not quiet) as progress:
                count = sort_faces(store, by, embedding, progress=progress)
        console.print(f"{count} faces sorted by {by}.", highlight=False)


def _read_list(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"Cannot read the list {path}: {exc.strerror or exc}.") from exc
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@app.command()
def remove(
    faceset: FacesetArg,
    faces: Annotated[list[str] | None, typer.Argument(help="Crop file names or keys.")] = None,
    group_numbers: Annotated[
        list[int] | None, typer.Option("--group", help="Group number (repeatable).")
    ] = None,
    from_list: Annotated[Path | None, typer.Option("--list", help="A file of crop names or keys.")] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Every face of this source (name or path).")
    ] = None,
    quiet: QuietSummary = False,
    debug: Debug = False,
) -> None:
    """Take faces out of the faceset (their crops move to FACESET/removed/)."""
    console = Console(stderr=True, quiet=quiet)
    with reported_errors(debug):
        from faceforge.facesets.curate import remove_faces, select_faces

        names = [*(faces or []), *_read_list(from_list)]
        if not (names or group_numbers or source):
            raise OptionError("Say what to remove: crop names, --group, --list or --source.")
        with _open(faceset, write=True) as store:
            chosen = select_faces(store, group_numbers or (), names, source or ())
            count = remove_faces(store, chosen)
            if source:
                with store.transaction() as db:
                    for name in source:
                        db.execute("DELETE FROM sources WHERE name = ? OR path = ?", (name, name))
        console.print(f"{count} faces removed (moved to removed/).", highlight=False)


@app.command()
def keep(
    faceset: FacesetArg,
    faces: Annotated[list[str] | None, typer.Argument(help="Crop file names or keys.")] = None,
    group_numbers: Annotated[
        list[int] | None, typer.Option("--group", help="Group number (repeatable).")
    ] = None,
    from_list: Annotated[Path | None, typer.Option("--list", help="A file of crop names or keys.")] = None,
    quiet: QuietSummary = False,
    debug: Debug = False,
) -> None:
    """Keep only the given faces or groups; every other face is removed (moved to FACESET/removed/)."""
    console = Console(stderr=True, quiet=quiet)
    with reported_errors(debug):
        from faceforge.facesets.curate import remove_faces, select_faces

        names = [*(faces or []), *_read_list(from_list)]
        if not (names or group_numbers):
            raise OptionError("Say what to keep: crop names, --group or --list.")
        with _open(faceset, write=True) as store:
            kept = {f.id for f in select_faces(store, group_numbers or (), names)}
            count = remove_faces(store, [f for f in store.faces() if f.id not in kept])
        console.print(f"{len(kept)} faces kept, {count} removed (moved to removed/).", highlight=False)


@app.command()
def clean(
    faceset: FacesetArg,
    remove_orphans: Annotated[
        bool, typer.Option(help="Move crops the index does not know to removed/.")
    ] = False,
    quiet: QuietSummary = False,
    debug: Debug = False,
) -> None:
    """Bring the index in line with the files after crops were deleted, moved or renamed by hand."""
    console = Console(stderr=True, quiet=quiet)
    with reported_errors(debug):
        from faceforge.facesets.curate import clean_faceset

        with _open(faceset, write=True) as store:
            report = clean_faceset(store, remove_orphans)
            left = store.count()
        console.print(
            f"{report.rows_removed} deleted crops dropped from the index, {report.rows_moved} moved crops "
            f"found again, {len(report.orphans)} unknown files"
            + (" moved to removed/" if report.orphans_removed else "")
            + f"; {left} faces remain.",
            highlight=False,
        )
        for name in report.orphans[:20]:
            console.print(f"  unknown: {name}", highlight=False)


@app.command()
def preview(
    faceset: FacesetArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="sheet.html, or a .png/.jpg contact sheet.")],
    per_group: Annotated[int, typer.Option(help="Faces shown per group.")] = 48,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """An HTML page (groups, counts, pose coverage, sharpness histogram) or a PNG contact sheet."""
    from faceforge.cli.progress import progress_bar

    console = Console(stderr=True)
    with reported_errors(debug):
        from faceforge.facesets.preview import contact_sheet, html_sheet
        from faceforge.outputs import OutputLock, check_output

        check_output(output, (faceset,), overwrite)
        with (
            OutputLock(output),
            _open(faceset) as store,
            progress_bar("preview", "faces", enabled=not quiet) as progress,
        ):
            if output.suffix.lower() in (".html", ".htm"):
                shown = html_sheet(store, output, per_group=per_group, progress=progress)
            else:
                shown = contact_sheet(store, output, per_group=per_group, progress=progress)
        console.print(f"{shown} faces shown -> {output}", highlight=False)


@app.command()
def stats(
    faceset: FacesetArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    debug: Debug = False,
) -> None:
    """Counts, groups, pose range and coverage, sharpness and identity purity of a faceset."""
    console = Console()
    with reported_errors(debug):
        from faceforge.facesets.preview import faceset_stats

        with _open(faceset) as store:
            result = faceset_stats(store)
        if as_json:
            print(json.dumps(result.as_dict()))
            return
        print_stats(console, faceset, result)
