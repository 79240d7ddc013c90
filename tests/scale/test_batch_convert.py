"""`faceforge batch convert` end to end: a tiny pair model trained here, then a folder converted on a local
Ray worker, output for output equal to `faceforge convert`; a bad input is reported while the rest go on."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceforge.media.images import read_image
from faceforge.scale.jobs import JOB_NAME, read_tasks

_TRAIN = ["--arch", "dfaker", "--width-scale", "0.125", "-b", "4", "-n", "3", "--save-every", "3",
          "--preview-every", "0", "--log-every", "1", "--workers", "0", "--no-tensorboard"]  # fmt: skip


def _faceforge(*args: str, threads: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": threads} if threads else None
    return subprocess.run(
        [sys.executable, "-m", "faceforge", *args], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.mark.slow  # trains a model and starts Ray: ~60 s on the loaded 2-core dev machine
def test_batch_convert_on_a_worker_equals_convert(
    faceset_a: Path, faceset_b: Path, testdata: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    trained = _faceforge("train", str(faceset_a), str(faceset_b), "-o", str(model), *_TRAIN)
    assert trained.returncode == 0, trained.stderr
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("face_frontal_b.jpg", "face_lowkey_c.jpg"):
        shutil.copy(testdata / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"not a picture")

    batch = _faceforge(
        "batch",
        "convert",
        str(folder),
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(model),
        "--workers",
        "1",
        "-q",
    )
    assert batch.returncode == 9, batch.stderr  # some inputs failed: listed, the others done
    assert "broken.jpg" in batch.stderr and "not a readable image" in batch.stderr
    rows = {Path(row.key).name: row for row in read_tasks(tmp_path / "out" / JOB_NAME)}
    assert {name: row.state for name, row in rows.items()} == {
        "face_frontal_b.jpg": "done",
        "face_lowkey_c.jpg": "done",
        "broken.jpg": "failed",
    }
    # Ray gives a 1-CPU worker OMP_NUM_THREADS=1, and torch's CPU convolutions sum in an order that
    # depends on the thread count (last-bit differences that can flip a pixel), so the plain convert
    # runs on one thread too: equal outputs for equal arithmetic.
    for name in ("face_frontal_b.jpg", "face_lowkey_c.jpg"):
        single = _faceforge(
            "convert", str(folder / name), "-o", str(tmp_path / name), "--model", str(model), "-q",
            threads="1",
        )  # fmt: skip
        assert single.returncode == 0, single.stderr
        assert np.array_equal(read_image(tmp_path / "out" / name), read_image(tmp_path / name))
