"""Limits on untrusted input in the commands H7 owns: faces kept per photo or frame (--max-faces), and the
size of the JSON files of a model folder and of the weights cache. Each refusal is one sentence and a
documented exit code, and the files are left as they were."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FACEFORGE = Path(sys.executable).parent / "faceforge"


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "80"}
    return subprocess.run(
        [str(FACEFORGE), *map(str, args)], capture_output=True, text=True, timeout=300, env=env
    )


def _sentence(result: subprocess.CompletedProcess[str]) -> str:
    text = " ".join(result.stderr.split())
    assert "Traceback" not in text and "internal error" not in text, text
    return text


@pytest.mark.slow
def test_max_faces_keeps_the_largest_and_counts_the_rest(testdata: Path, tmp_path: Path) -> None:
    faceset = tmp_path / "set"
    result = _run("faces", "extract", testdata / "group_3faces.jpg", "-o", faceset, "--max-faces", "2", "-q")
    assert result.returncode == 0, result.stderr
    assert "2 faces added from 1 sources; rejected: 1 over --max-faces" in _sentence(result)
    zero = _run(
        "faces", "extract", testdata / "group_3faces.jpg", "-o", tmp_path / "other", "--max-faces", "0"
    )
    assert zero.returncode == 2 and "--max-faces" in _sentence(zero) and "at least 1" in _sentence(zero)
    assert not (tmp_path / "other").exists()


@pytest.mark.slow
def test_an_oversized_model_folder_json_is_refused_before_reading(
    faceset_a: Path, faceset_b: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    index = model / "checkpoint.json"
    with open(index, "wb") as handle:  # sparse: 17 MB on paper, nothing on disk
        handle.truncate(17 << 20)
    result = _run("train", faceset_a, faceset_b, "-o", model, "-n", "1", "--workers", "0", "-q")
    assert result.returncode == 2, result.stderr
    assert f"{index} holds more than 16 MB; a faceforge model folder's JSON files are a few kB" in _sentence(
        result
    )
    assert index.stat().st_size == 17 << 20 and sorted(p.name for p in model.iterdir()) == ["checkpoint.json"]


def test_an_oversized_weights_manifest_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    manifest = cache / "manifest.json"
    with open(manifest, "w", encoding="utf-8") as handle:
        json.dump({"pad": "x" * (17 << 20)}, handle)
    result = _run("weights", "list", "--cache", cache)
    assert result.returncode == 6, result.stderr
    assert f"The weights manifest {manifest} holds more than 16 MB" in _sentence(result)
