"""Listings a person reads at 80 columns (labels and names never wrap) and a script parses (--json with a
stable schema); -q silences the summary but never an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faceset_cli import run_cli

STATS_KEYS = {
    "faces", "sources", "sources_unfinished", "groups", "yaw_range", "pitch_range", "pose_coverage",
    "sharpness_median", "sharpness_p10", "identity_purity", "main_identity_faces",
}  # fmt: skip
STATS_LABELS = ("faces", "groups", "yaw", "pitch", "pose coverage", "sharpness", "identity purity")


@pytest.mark.slow
def test_stats_reads_as_sentences_at_80_columns_and_as_json(photo_faceset: Path) -> None:
    table = run_cli("faces", "stats", photo_faceset)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    starts = [line.split("  ")[0] for line in lines[1:] if line and not line.startswith(" ")]
    assert tuple(starts) == STATS_LABELS  # one row per label, every label whole at the start of its line
    as_json = run_cli("faces", "stats", photo_faceset, "--json")
    data = json.loads(as_json.stdout)
    assert set(data) == STATS_KEYS and data["faces"] >= 6
    faces = next(line for line in lines if line.startswith("faces"))
    assert f"{data['faces']} from {data['sources']} sources" in faces
    assert "°" in next(line for line in lines if line.startswith("yaw"))


@pytest.mark.slow
def test_compare_fits_80_columns_and_gives_json(testdata: Path) -> None:
    images = [
        testdata / "face_frontal_a.jpg",
        testdata / "face_frontal_b.jpg",
        testdata / "face_frontal_a.jpg",
    ]
    table = run_cli("faces", "compare", *images)
    assert table.returncode == 0, table.stderr
    assert all(len(line) <= 80 for line in table.stdout.splitlines())
    assert f"1  {images[0]}" in table.stdout and "1   3      0.000   same person" in table.stdout
    as_json = run_cli("faces", "compare", *images, "--json")
    data = json.loads(as_json.stdout)
    assert set(data) == {"backend", "threshold", "images", "pairs"} and len(data["pairs"]) == 3
    first, same, _ = data["pairs"]  # (1, 2), (1, 3), (2, 3)
    assert set(first) == {"a", "b", "distance", "same_person"}
    assert same["distance"] == 0.0 and same["same_person"] and not first["same_person"]


@pytest.mark.slow
def test_quiet_silences_the_summary_but_not_an_error(photo_faceset: Path) -> None:
    quiet = run_cli("faces", "clean", photo_faceset, "-q")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    loud = run_cli("faces", "clean", photo_faceset)
    assert "faces remain" in loud.stderr
    refused = run_cli("faces", "remove", photo_faceset, "-q")
    assert refused.returncode == 2
    assert "Say what to remove: crop names, --group, --list or --source." in refused.stderr
