"""``faceforge swap --enhance``: the steps reach the run in order (the image grows with a frame step, the tag
names them), and a malformed step is one sentence with exit 2 and no output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from enhancer_toys import face_enhancer_model, upscaler_model

from faceforge.media.images import read_image
from faceforge.media.provenance import read_tag


def swap(testdata: Path, output: Path, enhance: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "faceforge", "swap", str(testdata / "face_frontal_b.jpg")]
    command += [str(testdata / "face_frontal_a.jpg"), "-o", str(output), "--enhance", enhance]
    return subprocess.run(command, capture_output=True, text=True)


@pytest.mark.slow
def test_swap_runs_the_enhance_steps(testdata: Path, tmp_path: Path) -> None:
    face = face_enhancer_model(tmp_path / "face.onnx", 512, gain=1.0)
    frame = upscaler_model(tmp_path / "x2.onnx", 2)
    output = tmp_path / "out.png"
    run = swap(testdata, output, f"face={face}:0.5,frame={frame}:1")
    assert run.returncode == 0, run.stderr
    target = read_image(testdata / "face_frontal_a.jpg")
    assert read_image(output).shape == (target.shape[0] * 2, target.shape[1] * 2, 3)
    assert read_tag(output)["processors"] == [f"face={face}:0.5", f"frame={frame}:1"]


def test_a_malformed_step_is_one_sentence(testdata: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.png"
    run = swap(testdata, output, "sharpen")
    assert run.returncode == 2
    assert "--enhance takes face=NAME[:BLEND] or frame=NAME[:BLEND], not 'sharpen'." in run.stderr
    assert "Traceback" not in run.stderr and not output.exists()
