from pathlib import Path

import numpy as np
import pytest

from faceforge.errors import InputError
from faceforge.media.atomic import TEMP_PREFIX
from faceforge.media.images import write_image
from faceforge.pipeline.image import folder_images


def test_folder_listing_skips_hidden_and_leftover_temporary_files(tmp_path: Path):
    pixel = np.zeros((4, 4, 3), np.uint8)
    for name in ("b.png", "a.jpg", f"{TEMP_PREFIX}0123-c.png", ".hidden.png"):
        write_image(tmp_path / name, pixel)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in folder_images(tmp_path)] == ["a.jpg", "b.png"]


def test_a_file_is_not_a_folder(tmp_path: Path):
    file = tmp_path / "x.png"
    file.write_bytes(b"")
    with pytest.raises(InputError, match="not a folder"):
        folder_images(file)
