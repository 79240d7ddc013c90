"""A faceset as a torch dataset of training pairs, and the loader that batches it in background workers.

Each item is one stored crop (see ``docs/facesets.md``): the centred ``coverage`` share of the crop (side
``coverage * size``; 0.8 by default, which holds the whole face oval with the lifted forehead and a
little margin in the ``full-face`` template) is resized to the model's size, augmented
(:mod:`faceforge.training.augment`), and returned with maps drawn from the crop's landmarks after the
same augmentation: the face mask (the compositor's default mask, the learned mask's target), the loss
region, and the eye and mouth regions for the loss multipliers.

Randomness is a function of ``(seed, index)``: the loader's sampler hands out a new index range every
epoch (``epoch * len + i``), so every epoch sees new augmentations, and the same seed gives the same
batches whatever the number of workers.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from faceforge.compose.masks import face_mask, face_size
from faceforge.errors import InputError, OptionError
from faceforge.facesets.store import FacesetStore
from faceforge.geometry import landmark_regions as regions
from faceforge.models.coverage import DEFAULT_COVERAGE, coverage_geometry
from faceforge.training.augment import NO_AUGMENT, WARP_POINTS, AugmentOptions, augment
from faceforge.training.workers import die_with_trainer

WARP_NEIGHBOURS = 10  # warp to landmarks picks one of the closest faces (by landmark shape) of the other set
EYE_GROW = 0.04  # eye regions grown by this fraction of the face size (lids, lashes)
MOUTH_GROW = 0.03
WEIGHT_GROW = 0.04  # the loss region: the face mask grown (not eroded) so its edge is learned too
_SHIFT = 4


def _crop_landmarks(store: FacesetStore) -> tuple[list[Path], np.ndarray, int]:
    """Crop paths, landmarks ``(N, 478, 2)`` as fractions of the crop side, and the crop size."""
    size = int(store.info.get("size", 256))
    files, points = [], []
    for face in store.faces():
        files.append(store.path_of(face))
        crop = face.landmarks[:, :2].astype(np.float64) @ face.matrix[:, :2].T + face.matrix[:, 2]
        points.append(((crop + 0.5) / size).astype(np.float32))
    shape = (0, 478, 2)
    return files, np.stack(points) if points else np.zeros(shape, np.float32), size


def _region_map(points: np.ndarray, polygons: list[tuple[int, ...]], grow: float, size: int) -> np.ndarray:
    hard: np.ndarray = np.zeros((size, size), np.uint8)
    outlines = [np.round(points[list(p)] * (1 << _SHIFT)).astype(np.int32) for p in polygons]
    cv2.fillPoly(hard, outlines, 1, shift=_SHIFT)
    radius = round(grow * face_size(points))
    if radius > 0:
        hard = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
    return hard.astype(np.float32)


def _image(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div_(255.0)


def _plane(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None]


class FacesetDataset(Dataset):
    """Training pairs from one faceset (see the module docstring).

    Items: ``input`` ``(3, in, in)`` augmented and warped, ``target`` ``(3, out, out)`` augmented, ``mask``
    ``(1, out, out)`` the soft face mask, ``weight`` ``(1, out, out)`` the loss region, ``eyes`` and
    ``mouth`` ``(1, out, out)`` {0, 1}; all float32 in [0, 1]. ``training=False``: no augmentation at all.
    ``coverage``: the centred share of the stored crop the model sees. ``warp_towards``: the faceset whose
    landmarks warp to landmarks aims at (the other person's, as in Dfaker); by default this one's.
    Indexes past ``len`` wrap around and draw other augmentations (see :func:`make_loader`).
    """

    def __init__(
        self,
        faceset: Path,
        input_size: int,
        output_size: int,
        augment: AugmentOptions,
        seed: int = 0,
        training: bool = True,
        coverage: float = DEFAULT_COVERAGE,
        warp_towards: Path | None = None,
    ) -> None:
        if not 0.25 <= coverage <= 1.0:
            raise OptionError("The coverage must be between 0.25 and 1 of the stored crop.")
        with FacesetStore.open(Path(faceset)) as store:
            self.files, self.landmarks, self.crop_size = _crop_landmarks(store)
        if not self.files:
            raise InputError(f"The faceset {faceset} holds no faces to train on.")
        self.input_size, self.output_size = input_size, output_size
        self.options = augment if training else NO_AUGMENT
        self.seed, self.training, self.coverage = seed, training, coverage
        self._warp_targets: np.ndarray | None = None
        if training and augment.warp_to_landmarks > 0:
            if warp_towards is None:
                self._warp_targets = self.landmarks
            else:
                with FacesetStore.open(Path(warp_towards)) as store:
                    self._warp_targets = _crop_landmarks(store)[1]
            if not len(self._warp_targets):
                raise InputError(f"The faceset {warp_towards} holds no faces to warp towards.")

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, i: int) -> np.ndarray:
        image = cv2.imread(str(self.files[i]), cv2.IMREAD_COLOR)
        if image is None:
            raise InputError(f"Cannot read the face crop {self.files[i]}; run `faceforge faces clean` on it.")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def _warp_target(self, i: int, rng: np.random.Generator) -> np.ndarray | None:
        if self._warp_targets is None:
            return None
        shape = self.landmarks[i, WARP_POINTS]
        distance = np.square(self._warp_targets[:, WARP_POINTS] - shape).sum(axis=(1, 2))
        if self._warp_targets is self.landmarks and len(distance) > 1:
            distance[i] = np.inf
        nearest = np.argsort(distance)[: min(WARP_NEIGHBOURS, len(distance))]
        return self._warp_targets[rng.choice(nearest)]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        i = int(index) % len(self.files)
        rng = np.random.default_rng((self.seed, int(index)))
        image = self._read(i)
        side, offset, _ = coverage_geometry(self.input_size, self.output_size, self.coverage)
        image = cv2.resize(
            image, (side, side), interpolation=cv2.INTER_AREA if side < image.shape[0] else cv2.INTER_LINEAR
        )
        region = np.array([[1.0, 0.0, -offset], [0.0, 1.0, -offset]], dtype=np.float64)
        to_pixels = lambda fractions: fractions * side - 0.5  # noqa: E731
        other = self._warp_target(i, rng)
        model_input, target, points = augment(
            image,
            to_pixels(self.landmarks[i]),
            region,
            self.options,
            rng,
            self.input_size,
            self.output_size,
            None if other is None else to_pixels(other),
        )
        shape = (self.output_size, self.output_size)
        return {
            "input": _image(model_input),
            "target": _image(target),
            "mask": _plane(face_mask(points, shape)),
            "weight": _plane(face_mask(points, shape, erode=-WEIGHT_GROW)),
            "eyes": _plane(
                _region_map(points, [regions.LEFT_EYE, regions.RIGHT_EYE], EYE_GROW, self.output_size)
            ),
            "mouth": _plane(_region_map(points, [regions.MOUTH_OUTER], MOUTH_GROW, self.output_size)),
        }


class EpochSampler(DistributedSampler):
    """A shuffling, rank-sharded sampler that moves to the next epoch by itself each time it is iterated
    (reshuffled with ``(seed, epoch)``) and hands out ``epoch * len(dataset) + i``, so a dataset item's
    augmentation differs every epoch. ``set_epoch`` (inherited) sets the epoch to resume at."""

    def __iter__(self):
        epoch, size = self.epoch, len(self.dataset)
        indices = list(super().__iter__())
        self.epoch += 1
        return iter([epoch * size + i for i in indices])


def make_loader(
    dataset: Dataset, batch_size: int, workers: int, seed: int, rank: int = 0, world_size: int = 1
) -> DataLoader:
    """Batches of ``dataset`` (any dataset whose items depend on ``(seed, index)`` only, as
    :class:`FacesetDataset`'s do) for process ``rank`` of ``world_size``: shuffled, reshuffled with new
    augmentations every epoch, full batches only, ``workers`` background processes (kept between epochs),
    memory pinned when CUDA is there, workers that die with this process even under SIGKILL
    (:mod:`.workers`). Iterate it again and again for as long as training runs."""
    per_rank = len(dataset) // world_size  # type: ignore[arg-type]
    if per_rank < batch_size:
        raise InputError(
            f"There are {len(dataset)} faces to train on: too few for batches of {batch_size}"  # type: ignore[arg-type]
            + (f" on each of {world_size} processes" if world_size > 1 else "")
            + ". Add more faces or lower the batch size."
        )
    sampler = EpochSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True
    )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=2 if workers > 0 else None,
        worker_init_fn=die_with_trainer() if workers > 0 else None,
    )
