"""A faceset's crops as (degraded, clean) training pairs for the restorer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from faceforge.errors import InputError
from faceforge.facesets.store import FacesetStore
from faceforge.media.images import read_image
from faceforge.training.restorer.degrade import DegradeRecipe, degrade


def faceset_crops(faceset: Path) -> tuple[list[Path], int, str]:
    """The faceset's crop files (index order), their side and their template."""
    with FacesetStore.open(Path(faceset)) as store:
        files = [store.path_of(face) for face in store.faces()]
        info = store.info
    if not files:
        raise InputError(f"The faceset {faceset} holds no faces to train on.")
    return files, int(info.get("size", 256)), str(info.get("template", "full-face"))


def split_holdout(files: list[Path], holdout: int) -> tuple[list[Path], list[Path]]:
    """(training files, held-out files): every ``len / holdout``-th crop is held out, spread over the
    faceset so the held-out faces are not all from one end of a clip."""
    if holdout <= 0:
        return files, []
    if holdout >= len(files):
        raise InputError(f"Holding out {holdout} of {len(files)} faces leaves none to train on.")
    step = len(files) / holdout
    held = {int(i * step + step / 2) for i in range(holdout)}
    return [f for i, f in enumerate(files) if i not in held], [f for i, f in enumerate(files) if i in held]


def load_crop(path: Path, size: int) -> np.ndarray:
    image = read_image(path)
    if image.shape[0] != size or image.shape[1] != size:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)


class RestorerDataset(Dataset):
    """Items ``{"input": degraded, "target": clean}``, ``(3, size, size)`` float32 in [0, 1]; a random
    mirror and degradation that depend on ``(seed, index)`` only (indexes past ``len`` wrap around with
    new draws, as :func:`faceforge.training.data.make_loader` expects)."""

    def __init__(self, files: list[Path], size: int, recipe: DegradeRecipe, seed: int = 0) -> None:
        self.files, self.size, self.recipe, self.seed = files, size, recipe, seed

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, index))
        clean = load_crop(self.files[index % len(self.files)], self.size)
        if rng.random() < 0.5:
            clean = clean[:, ::-1]
        return {"input": _tensor(degrade(clean, rng, self.recipe)), "target": _tensor(clean)}
