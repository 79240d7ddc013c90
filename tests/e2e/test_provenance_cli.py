"""``faceforge provenance``: outputs read as synthetic, untouched photos as untagged (exit 1)."""

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from faceforge.cli.main import app
from faceforge.media.images import write_image
from faceforge.pipeline.provenance import swap_tag


def _run(*args: str):
    return CliRunner().invoke(app, ["provenance", *args], env={"COLUMNS": "300"})


def test_tagged_and_untagged_files(tmp_path: Path, testdata: Path) -> None:
    tagged = tmp_path / "swapped.png"
    write_image(tagged, np.zeros((8, 8, 3), np.uint8), swap_tag("mesh", 1))
    ok = _run(str(tagged))
    assert ok.exit_code == 0 and "synthetic, made by faceforge" in ok.output and "swapper=mesh" in ok.output

    mixed = _run("--json", str(tagged), str(testdata / "face_frontal_a.jpg"))
    assert mixed.exit_code == 1
    lines = [json.loads(line) for line in mixed.output.splitlines() if line.startswith("{")]
    assert [line["tag"] is not None for line in lines] == [True, False]
    assert lines[0]["tag"]["synthetic"] is True


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = _run(str(tmp_path / "nope.png"))
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output
