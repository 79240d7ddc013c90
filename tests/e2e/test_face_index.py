"""``--face-index`` past the faces an image has is one sentence saying how many there are (exit 2), on the
command line and in the Python API, instead of "no face"; the image is left byte-identical."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

FACEFORGE = Path(sys.executable).parent / "faceforge"


@pytest.mark.slow
def test_face_index_past_the_faces_says_how_many_there_are(testdata: Path, tmp_path: Path) -> None:
    target = testdata / "group_3faces.jpg"
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "80"}
    result = subprocess.run(
        [str(FACEFORGE), "swap", str(testdata / "face_frontal_a.jpg"), str(target),
         "-o", str(tmp_path / "o.jpg"), "--face-index", "99", "-q"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    text = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr
    assert (
        f"--face-index 99 asks for face number 100 from the left, but {target} has 3 faces: use 0 to 2."
        in text
    )
    assert "Traceback" not in text and not (tmp_path / "o.jpg").exists()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before


def test_the_api_says_the_same(testdata: Path) -> None:
    from faceforge import swap_image
    from faceforge.config import SelectionOptions, SwapConfig
    from faceforge.errors import OptionError

    config = SwapConfig(selection=SelectionOptions(mode="index", face_index=5))
    with pytest.raises(OptionError, match=r"but the target image has 3 faces: use 0 to 2\."):
        swap_image(testdata / "face_frontal_a.jpg", testdata / "group_3faces.jpg", config=config)
