"""A tiny one-shot dataset prepared once per session from the testdata stills, and tiny run settings."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from oneshot_settings import tiny_config

from faceforge.media.images import write_image
from faceforge.training.oneshot.config import OneshotConfig
from faceforge.training.oneshot.prepare import PrepareReport, prepare_dataset

# Three "identities" of two stills each (the stills show different people: the grouping is what the
# dataset says, which is all the loader and the trainer see).
PEOPLE = {
    "anna": ("face_frontal_b.jpg", "face_lookup_g.jpg"),
    "ben": ("face_frontal_a.jpg", "face_glasses_e.png"),
    "carl": ("face_lowkey_c.jpg", "face_darkskin_i.jpg"),
}


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a loaded 2-core machine OpenMP's spinning threads make steps 10-30x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def people() -> dict[str, tuple[str, ...]]:
    return PEOPLE


@pytest.fixture(scope="session")
def photo_folder(testdata: Path, tmp_path_factory) -> Path:
    """Photos grouped by person, plus one photo without a face in the last person's folder."""
    root = tmp_path_factory.mktemp("oneshot") / "photos"
    for person, names in PEOPLE.items():
        (root / person).mkdir(parents=True)
        for name in names:
            shutil.copy(testdata / name, root / person / name)
    write_image(root / "carl" / "wall.png", np.full((300, 300, 3), 200, np.uint8))
    return root


@pytest.fixture(scope="session")
def prepared(photo_folder: Path, analyser, tmp_path_factory) -> tuple[Path, PrepareReport]:
    dataset = tmp_path_factory.mktemp("oneshot") / "dataset"
    return dataset, prepare_dataset(photo_folder, dataset, analyser)


@pytest.fixture(scope="session")
def oneshot_dataset(prepared: tuple[Path, PrepareReport]) -> Path:
    return prepared[0]


@pytest.fixture
def tiny() -> Callable[..., OneshotConfig]:
    return tiny_config
