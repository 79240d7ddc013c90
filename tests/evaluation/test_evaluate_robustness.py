"""``faceforge evaluate`` on untrusted input: a corrupt photo among good pairs is skipped and reported
while the rest is measured; a binary pairs file and one over the row limit are refused with one sentence
naming the file. Every input is byte-identical afterwards."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faceforge.cli.main import app


def _invoke(*args: str):
    return CliRunner().invoke(app, ["evaluate", *args], env={"COLUMNS": "200"})


def _digests(*paths: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.mark.slow
def test_a_corrupt_photo_skips_its_pair_and_the_rest_is_reported(tmp_path: Path, testdata: Path) -> None:
    good_source, good_target = testdata / "face_frontal_a.jpg", testdata / "face_frontal_b.jpg"
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes((testdata / "face_lowkey_c.jpg").read_bytes()[:2000])  # a JPEG cut short
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"source,target\n{good_source},{good_target}\n{corrupt},{good_target}\n")
    before = _digests(good_source, good_target, corrupt, pairs)
    out = tmp_path / "report"
    result = _invoke("--pairs", str(pairs), "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert f"skipped broken.jpg → face_frontal_b.jpg: Cannot read {corrupt}" in result.output
    data = json.loads((out / "metrics.json").read_text())
    assert [s["name"] for s in data["skipped"]] == ["broken.jpg → face_frontal_b.jpg"]
    assert "not a readable image" in data["skipped"][0]["reason"]
    rows = data["configurations"][0]["pairs"]
    assert [r["name"] for r in rows] == ["face_frontal_a.jpg → face_frontal_b.jpg"]
    assert rows[0]["status"] == "ok"
    assert "broken.jpg" in (out / "report.html").read_text()
    assert _digests(good_source, good_target, corrupt, pairs) == before


def test_a_binary_pairs_file_is_named_in_one_sentence(tmp_path: Path, testdata: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_bytes((testdata / "face_frontal_a.jpg").read_bytes())
    before = _digests(pairs)
    out = tmp_path / "report"
    result = _invoke("--pairs", str(pairs), "-o", str(out), "-q")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"error: The pairs file {pairs} is not a text CSV file (it is not UTF-8)."]
    assert not out.exists() and _digests(pairs) == before


def test_a_pairs_file_over_the_row_limit_is_refused(tmp_path: Path, testdata: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    row = f"{testdata / 'face_frontal_a.jpg'},{testdata / 'face_frontal_b.jpg'}\n"
    pairs.write_text("source,target\n" + row * 4)
    before = _digests(pairs)
    out = tmp_path / "report"
    result = _invoke("--pairs", str(pairs), "-o", str(out), "-q", "--max-pairs", "3")
    assert result.exit_code == 2, result.output
    assert f"error: The pairs file {pairs} has more than 3 pairs, the limit (--max-pairs)." in result.output
    assert not out.exists() and _digests(pairs) == before
