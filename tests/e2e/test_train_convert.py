"""The pair workflow through the command line: train (killed for real, then resumed), then convert a clip."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

_TRAIN = ["--arch", "dfaker", "--width-scale", "0.125", "-b", "4", "--save-every", "3",
          "--preview-every", "0", "--log-every", "1", "--workers", "0", "--lr", "5e-4",
          "--no-tensorboard"]  # fmt: skip


@pytest.fixture(scope="module")
def facesets(faceset_a: Path, faceset_b: Path) -> tuple[Path, Path]:
    return faceset_a, faceset_b


def _faceforge(*args: str) -> list[str]:
    return [sys.executable, "-m", "faceforge", *args]


def _latest(model: Path) -> int | None:
    index = model / "checkpoint.json"
    if not index.is_file():
        return None
    data = json.loads(index.read_text())
    return data["saves"][data["latest"]]["iteration"] if data["latest"] else None


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_last_save(facesets, tmp_path):
    a, b = facesets
    model = tmp_path / "model"
    cmd = _faceforge("train", str(a), str(b), "-o", str(model), "-n", "400", *_TRAIN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while _latest(model) is None:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "no save within 2 minutes"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    saved = _latest(model)
    assert saved is not None and saved % 3 == 0
    again = _faceforge("train", str(a), str(b), "-o", str(model), "-n", str(saved + 3), *_TRAIN)
    done = subprocess.run(again, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"resuming at iteration {saved}" in done.stdout
    lines = [line.split()[0] for line in done.stdout.splitlines() if "loss A" in line]
    assert lines[0] == str(saved + 1)  # it went on from the save, not from 0
    assert _latest(model) == saved + 3


@pytest.mark.slow
def test_nan_stop_and_rollback_from_the_command_line(facesets, tmp_path):
    a, b = facesets
    model = tmp_path / "model"
    args = ["train", str(a), str(b), "-o", str(model), "-n", "6", "--snapshot-every", "3", *_TRAIN]
    failed = subprocess.run(
        _faceforge(*args, "--inject-nan-at", "5"), capture_output=True, text=True, timeout=300
    )
    assert failed.returncode == 7
    message = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "NaN at iteration 5" in message[0] and "Traceback" not in failed.stderr
    ok = subprocess.run(_faceforge(*args, "--rollback"), capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "resuming at iteration 3" in ok.stdout and _latest(model) == 6


@pytest.mark.slow
def test_convert_a_clip_keeps_frames_and_audio(facesets, testdata, tmp_path):
    a, b = facesets
    model = tmp_path / "model"
    trained = subprocess.run(_faceforge("train", str(a), str(b), "-o", str(model), "-n", "6", *_TRAIN),
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    clip = testdata / "talking_audio_3s.mp4"
    out = tmp_path / "converted.mp4"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run = subprocess.run(_faceforge("convert", str(clip), "-o", str(out), "--model", str(model), "-q",
                                    "--direction", "a2b", "--mask", "landmarks", "--color", "reinhard"),
                         capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    with av.open(str(clip)) as src, av.open(str(out)) as dst:
        frames_in = sum(1 for _ in src.decode(video=0))
        src.seek(0)
        assert dst.streams.audio and dst.streams.audio[0].codec_context.name == "aac"
        frames_out = sum(1 for _ in dst.decode(video=0))
    assert frames_out == frames_in
    assert "swapped in" in run.stderr
    # convert without --model, and swap --model with a source photo, fail with one sentence each.
    bad = subprocess.run(_faceforge("convert", str(clip), "-o", str(tmp_path / "x.mp4")), capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "needs --model" in bad.stderr
    photo = testdata / "face_darkskin_i.jpg"
    swap = _faceforge("swap", str(photo), str(clip), "-o", str(tmp_path / "y.mp4"), "--model", str(model))
    sourced = subprocess.run(swap, capture_output=True, text=True, timeout=120)
    assert sourced.returncode == 2 and "With --model give only the target" in sourced.stderr


@pytest.mark.slow
@pytest.mark.parametrize("scale", ["0", "-0.5"])
def test_a_width_scale_of_zero_or_less_is_refused(tmp_path: Path, scale: str) -> None:
    """--width-scale 0 trained a one-channel model with exit 0: now one sentence, exit 2, no model folder."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    model = tmp_path / "model"
    done = subprocess.run(
        _faceforge("train", str(a), str(b), "-o", str(model), "--width-scale", scale),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert f"width_scale must be a number greater than 0, got {float(scale)}." in done.stderr
    assert "Traceback" not in done.stderr
    assert not model.exists()
