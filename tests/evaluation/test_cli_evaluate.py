"""``faceforge evaluate`` in-process: a small successful run, and bad input failing with one sentence,
the documented exit code and no report folder left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceforge.cli.main import app


def _invoke(*args: str):
    return CliRunner().invoke(app, ["evaluate", *args], env={"COLUMNS": "200"})


@pytest.mark.slow
def test_evaluate_command_writes_a_report(tmp_path: Path, testdata: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"source,target\n{testdata / 'face_frontal_a.jpg'},{testdata / 'face_frontal_b.jpg'}\n")
    out = tmp_path / "report"
    result = _invoke(
        "--pairs", str(pairs), "-o", str(out), "-q",
        "--swapper", "mesh", "--name", "plain",
        "--swapper", "mesh", "--option", "compose.color=histogram", "--option", "compose.keep_mouth=false",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "plain" in result.output and "wrote" in result.output
    data = json.loads((out / "metrics.json").read_text())
    names = [c["name"] for c in data["configurations"]]
    assert names == ["plain", "mesh compose.color=histogram compose.keep_mouth=false"]
    options = data["configurations"][1]["options"]
    assert options == {"compose.color": "histogram", "compose.keep_mouth": "false"}
    assert all(c["aggregate"]["id_top1"] == 1.0 for c in data["configurations"])
    assert (out / "report.html").stat().st_size > 10_000
    again = _invoke("--pairs", str(pairs), "-o", str(out), "-q")
    assert again.exit_code == 5 and "already exists" in again.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--option", "compose.color=sepia"], 2, "Option compose.color takes one of"),
        (["--swapper", "nonesuch"], 2, "Unknown swapper 'nonesuch'"),
        (["--bogus"], 2, "No such option: --bogus"),
        ([], 2, "Give the pairs to evaluate"),
        (["--pairs", "missing.csv"], 2, "Cannot read the pairs file"),
        (["--sources", "nowhere", "--targets", "nowhere"], 2, "does not exist"),
    ],
)
def test_evaluate_bad_input_fails_cleanly(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    out = tmp_path / "report"
    result = _invoke(
        *[str(tmp_path / a) if a.endswith(("csv", "nowhere")) else a for a in args], "-o", str(out)
    )
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".faceforge-")]


def test_folder_pairs_leave_out_same_file(tmp_path: Path, testdata: Path) -> None:
    """Every source with every target, except a file with itself (through a link, too); files that are
    not media are ignored. (Pairs of one person in two files are dropped later, by identity.)"""
    from faceforge.evaluation.runner import pairs_from_folders

    sources, targets = tmp_path / "s", tmp_path / "t"
    sources.mkdir()
    targets.mkdir()
    for name in ("face_frontal_a.jpg", "face_frontal_b.jpg"):
        (sources / name).symlink_to(testdata / name)
    (targets / "face_frontal_a.jpg").symlink_to(testdata / "face_frontal_a.jpg")
    (targets / "notes.txt").write_text("not media")
    pairs = pairs_from_folders(sources, targets)
    assert [(p.source.name, p.target.name) for p in pairs] == [("face_frontal_b.jpg", "face_frontal_a.jpg")]
