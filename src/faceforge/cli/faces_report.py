"""How ``faceforge faces`` reports to a person: tables that fit 80 columns with labels and names that never
wrap, and the list of inputs an extraction skipped."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from faceforge.analysis.identity import SAME_PERSON
from faceforge.errors import InputError, PartialError


def report_skipped(console: Console, report) -> None:
    """Warnings, then each input that failed; exit 9 (PartialError) when any did."""
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    for path, reason in report.failed:
        console.print(f"  skipped {path}: {reason}", highlight=False, soft_wrap=True)
    if report.failed and not (report.sources_done or report.sources_skipped):
        raise InputError(
            f"None of the {len(report.failed)} inputs could be read (listed above); nothing was added."
        )
    if report.failed:
        total = len(report.failed) + report.sources_done + report.sources_skipped
        raise PartialError(
            f"{len(report.failed)} of {total} inputs could not be read and were skipped (listed above); "
            "the faces of the others are in the faceset, and a rerun tries the skipped ones again."
        )


def print_comparison(
    console: Console, backend: str, limit: float, images: list[Path], pairs: list[tuple[int, int, float]]
) -> None:
    """Images numbered once (a long path may wrap there), then pairs by number, so nothing in the
    distance table ever wraps in an 80-column terminal."""
    numbered = Table(box=None, show_header=False, pad_edge=False)
    numbered.add_column("#", justify="right", no_wrap=True)
    numbered.add_column("image", overflow="fold")
    for number, path in enumerate(images, 1):
        numbered.add_row(str(number), str(path))
    console.print(numbered)
    console.print(f"Identity distance ({backend} backend; same person below {limit:g}):", highlight=False)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("A", "B", "distance", "verdict"):
        table.add_column(column, justify="right" if column != "verdict" else "left", no_wrap=True)
    for i, j, distance in pairs:
        verdict = "[green]same person[/]" if distance < limit else "[red]different people[/]"
        table.add_row(str(i + 1), str(j + 1), f"{distance:.3f}", verdict)
    console.print(table)
    console.print(
        f"Distances are Euclidean between 128-D dlib ResNet descriptors; below {limit:g} means the same "
        f"person (dlib reports 99.38% accuracy on LFW at {SAME_PERSON:g}).",
        highlight=False,
    )


def print_stats(console: Console, faceset: Path, result) -> None:
    """``faces stats`` for a person: numbers with their units and what they mean, labels never wrapped."""
    groups = {name: n for name, n in result.groups.items() if name != "(none)"}
    ungrouped = result.groups.get("(none)", 0)
    shown = ", ".join(f"{name}: {n}" for name, n in list(groups.items())[:8])
    more = f", ... ({len(groups)} groups)" if len(groups) > 8 else ""
    parts = [shown + more] if groups else []
    parts += [f"{ungrouped} ungrouped"] if ungrouped else []
    group_text = "; ".join(parts) or "none"
    unfinished = f", {result.sources_unfinished} not finished" if result.sources_unfinished else ""
    rows = [
        ("faces", f"{result.faces} from {result.sources} sources{unfinished}"),
        ("groups", group_text),
        ("yaw", f"{result.yaw_range[0]:+.0f}° to {result.yaw_range[1]:+.0f}° (left-right turn)"),
        ("pitch", f"{result.pitch_range[0]:+.0f}° to {result.pitch_range[1]:+.0f}° (up-down tilt)"),
        ("pose coverage", f"{result.pose_coverage:.0%} of the 15° cells within ±60° yaw and ±45° pitch"),
        (
            "sharpness",
            f"median {result.sharpness_median:.0f}, 10th percentile {result.sharpness_p10:.0f} "
            "(sharp close-ups read 150-600, blurred ones under 50)",
        ),
        (
            "identity purity",
            f"{result.identity_purity:.0%} of faces look like the main person "
            f"({result.main_identity_faces} faces in that cluster)",
        ),
    ]
    table = Table(title=f"faceset {faceset}", show_header=False, box=None, pad_edge=False)
    table.add_column("what", no_wrap=True, style="bold")
    table.add_column("value", overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table, highlight=False)
