"""The output rules in the commands H7 owns: an output naming an input is refused (exit 5, inputs
byte-identical), an existing output file is kept without --overwrite/-y, and a second writer of one
output is refused with a sentence naming the holder."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faceforge.outputs import OutputLock

FACEFORGE = Path(sys.executable).parent / "faceforge"
TINY_TRAIN = ["--arch", "original", "--width-scale", "0.125", "-b", "4", "--workers", "0", "-n", "1",
              "--preview-every", "0", "--no-tensorboard", "--amp", "off", "-q"]  # fmt: skip


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "80"}
    return subprocess.run(
        [str(FACEFORGE), *map(str, args)], capture_output=True, text=True, timeout=300, env=env
    )


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _sentence(result: subprocess.CompletedProcess[str]) -> str:
    text = " ".join(result.stderr.split())
    assert "Traceback" not in text and "internal error" not in text, text
    return text


@pytest.mark.slow
def test_extract_into_its_own_media_folder_is_refused(testdata: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(testdata / "face_frontal_a.jpg", media)
    before = _digest(media)
    result = _run("faces", "extract", media, "-o", media, "-q")
    assert result.returncode == 5
    assert f"The output {media} is the input {media}" in _sentence(result)
    assert _digest(media) == before


@pytest.mark.slow
def test_preview_keeps_an_existing_sheet_and_refuses_a_second_writer(faceset_a: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.png"
    sheet.write_bytes(b"an earlier sheet")
    kept = _run("faces", "preview", faceset_a, "-o", sheet, "-q")
    assert kept.returncode == 5
    assert "already exists and was kept; pass --overwrite (-y)" in _sentence(kept)
    assert sheet.read_bytes() == b"an earlier sheet"
    with OutputLock(sheet):
        busy = _run("faces", "preview", faceset_a, "-o", sheet, "-q", "-y")
    assert busy.returncode == 5
    assert f"being written by another faceforge process (pid {os.getpid()}" in _sentence(busy)
    assert sheet.read_bytes() == b"an earlier sheet"
    replaced = _run("faces", "preview", faceset_a, "-o", sheet, "-q", "-y")
    assert replaced.returncode == 0, replaced.stderr
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_train_refuses_a_faceset_as_model_folder_and_a_busy_model_folder(
    faceset_a: Path, faceset_b: Path, tmp_path: Path
) -> None:
    before = _digest(faceset_a)
    into_faceset = _run("train", faceset_a, faceset_b, "-o", faceset_a, *TINY_TRAIN)
    assert into_faceset.returncode == 5
    assert f"is the input {faceset_a}" in _sentence(into_faceset)
    assert _digest(faceset_a) == before
    model = tmp_path / "model"
    with OutputLock(model):
        busy = _run("train", faceset_a, faceset_b, "-o", model, *TINY_TRAIN)
    assert busy.returncode == 5
    assert f"The output {model} is being written by another faceforge process" in _sentence(busy)
    assert not (model / "config.json").exists()
