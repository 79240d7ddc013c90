"""The one-shot dataset: (source, target) pairs of aligned GHOST crops, as GHOST and SimSwap sample them.

A dataset folder holds crops laid out by :func:`~faceforge.geometry.ghost_crop.ghost_alignment` (what
:mod:`faceforge.training.oneshot.prepare` writes), either grouped by identity (``DATASET/<person>/*.jpg``,
VGGFace2's layout) or flat (``DATASET/*.jpg``). ``landmarks.npz`` files beside the crops (one per
folder: ``names`` and ``points``, FaceMesh's 478 points as fractions of the crop side) give the eye regions
of the eye loss; datasets from elsewhere train without them (and without the eye loss).

Item ``index`` draws everything from ``(seed, index)``: the source is image ``index % N``; with
probability ``same_person`` the target is the same identity (another photo of the same person when the
dataset is grouped and the person has several, else the same image) and the pair counts for the
reconstruction loss; otherwise the target is any image. Each image gets its own colour jitter
(torchvision's ColorJitter scheme: brightness, contrast, saturation and hue factors in random order), and
the source gets two, as in GHOST: ``source_id`` feeds the identity encoder, ``source`` is the
discriminator's real image. Images are resized to 256 px and scaled to [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from faceforge.errors import InputError
from faceforge.geometry import landmark_regions as regions
from faceforge.media.images import image_files
from faceforge.types import LANDMARK_POINTS

CROP_SIZE = 256
LANDMARKS_FILE = "landmarks.npz"
# Eye openings (subject's left, then right) and the corner points that measure their width.
EYE_POLYGONS = (regions.LEFT_EYE, regions.RIGHT_EYE)
EYE_CORNERS = ((263, 362), (33, 133))
EYE_ERODE = 1  # px at 256: keeps the lashes along the lid margin out of the eye region
MIN_EYE_PIXELS = 12  # a smaller opening (a closed or hidden eye) does not count for the eye loss
_SHIFT = 4


@dataclass(frozen=True, slots=True)
class DatasetIndex:
    """The images of a dataset folder that passed the size filter, and what was left out."""

    files: list[Path]
    person: np.ndarray  # (N,) identity number of each image
    groups: list[np.ndarray]  # image indices of each identity number
    landmarks: np.ndarray  # (N, 478, 2) float32 fractions of the crop side; NaN where unknown
    grouped: bool
    too_small: int  # images under the minimum size
    unreadable: int  # files with an image suffix that are not readable images

    @property
    def with_landmarks(self) -> int:
        return int(np.isfinite(self.landmarks[:, 0, 0]).sum())


def read_landmarks(folder: Path) -> dict[str, np.ndarray]:
    """Crop name -> ``(478, 2)`` landmarks from ``folder/landmarks.npz`` (empty when there is none)."""
    path = folder / LANDMARKS_FILE
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            names, points = data["names"], data["points"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path} is not a readable landmarks file ({exc}).") from None
    if points.shape != (len(names), LANDMARK_POINTS, 2):
        raise InputError(f"{path} holds landmarks of an unexpected shape {points.shape}.")
    return {str(name): points[i].astype(np.float32) for i, name in enumerate(names)}


def _shorter_side(path: Path) -> int | None:
    """The image's shorter side from its header, or None when it is not a readable image."""
    try:
        with Image.open(path) as image:
            return min(image.size)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def scan_dataset(root: Path, min_size: int) -> DatasetIndex:
    """Index a dataset folder (see the module docstring); images under ``min_size`` px are counted and
    left out."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"The dataset folder {root} does not exist.")
    subfolders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    people = [(folder, images) for folder in subfolders if (images := image_files(folder))]
    loose = image_files(root)
    if people and loose:
        raise InputError(
            f"{root} holds both images and identity sub-folders; keep one layout (all images in "
            "per-person sub-folders, or all in the folder itself)."
        )
    files: list[Path] = []
    groups: list[np.ndarray] = []
    points: list[np.ndarray] = []
    too_small = unreadable = 0
    unknown = np.full((LANDMARK_POINTS, 2), np.nan, np.float32)
    for folder, images in people or [(root, loose)]:
        marks = read_landmarks(folder)
        start = len(files)
        for path in images:
            side = _shorter_side(path)
            if side is None:
                unreadable += 1
            elif side < min_size:
                too_small += 1
            else:
                files.append(path)
                points.append(marks.get(path.name, unknown))
        groups.append(np.arange(start, len(files)))
    if not files:
        raise InputError(
            f"{root} holds no usable training images ({too_small} under {min_size} px, {unreadable} "
            "unreadable); prepare one with `faceforge prepare-oneshot`."
        )
    ids = np.repeat(np.arange(len(groups)), [len(group) for group in groups])
    return DatasetIndex(files, ids, groups, np.stack(points), bool(people), too_small, unreadable)


def color_jitter(image: np.ndarray, rng: np.random.Generator, strengths: tuple[float, ...]) -> np.ndarray:
    """torchvision's ColorJitter on float RGB in [0, 1]: brightness, contrast and saturation factors drawn
    from ``[1 - s, 1 + s]`` and a hue shift from ``[-h, h]`` turns, applied in a random order."""
    brightness, contrast, saturation, hue = strengths
    factors = {
        "brightness": rng.uniform(1 - brightness, 1 + brightness) if brightness else None,
        "contrast": rng.uniform(1 - contrast, 1 + contrast) if contrast else None,
        "saturation": rng.uniform(1 - saturation, 1 + saturation) if saturation else None,
        "hue": rng.uniform(-hue, hue) if hue else None,
    }
    out = image
    for name in rng.permutation(list(factors)):
        value = factors[str(name)]
        if value is None:
            continue
        if name == "brightness":
            out = out * value
        elif name == "contrast":
            gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).mean()
            out = (out - gray) * value + gray
        elif name == "saturation":
            gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None]
            out = (out - gray) * value + gray
        else:
            hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = np.mod(hsv[..., 0] + 360.0 * value, 360.0)
            out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out


def eye_regions(points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From ``(478, 2)`` landmarks in pixels of a ``size``-px crop: the two eye openings ``(2, S, S)``
    {0, 1} (subject's left, right; eroded by :data:`EYE_ERODE`), their widths in pixels ``(2,)`` and whether
    each is open and big enough to count ``(2,)``."""
    masks = np.zeros((2, size, size), np.float32)
    widths = np.zeros(2, np.float32)
    valid = np.zeros(2, np.float32)
    if not np.isfinite(points).all():
        return masks, widths, valid
    kernel = np.ones((2 * EYE_ERODE + 1,) * 2, np.uint8)
    for k, (polygon, (a, b)) in enumerate(zip(EYE_POLYGONS, EYE_CORNERS, strict=True)):
        hard: np.ndarray = np.zeros((size, size), np.uint8)
        outline = np.round(points[list(polygon)] * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(hard, [outline], 1, shift=_SHIFT)
        hard = cv2.erode(hard, kernel)
        masks[k] = hard
        widths[k] = float(np.linalg.norm(points[a] - points[b]))
        valid[k] = float(hard.sum() >= MIN_EYE_PIXELS and widths[k] > 0)
    return masks, widths, valid


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """Float RGB ``HxWx3`` in [0, 1] -> ``(3, H, W)`` in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1) * 2.0 - 1.0, dtype=np.float32))


class OneshotDataset(Dataset):
    """Training pairs of a dataset folder (see the module docstring).

    Items: ``source_id``, ``source``, ``target`` ``(3, 256, 256)`` in [-1, 1]; ``same`` (1 for a
    same-identity pair); the target's ``eyes`` ``(2, 256, 256)``, ``eye_width`` ``(2,)`` pixels and
    ``eye_valid`` ``(2,)``. Indexes past ``len`` wrap around and draw other pairs and jitter.
    """

    def __init__(
        self,
        index: DatasetIndex,
        seed: int,
        same_person: float,
        jitter: tuple[float, float, float, float],
    ) -> None:
        self.index, self.seed, self.same_person, self.jitter = index, seed, same_person, jitter

    def __len__(self) -> int:
        return len(self.index.files)

    def read(self, i: int) -> np.ndarray:
        """Image ``i`` as float RGB in [0, 1], :data:`CROP_SIZE` px square."""
        path = self.index.files[i]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise InputError(f"Cannot read the training image {path}.")
        if image.shape[:2] != (CROP_SIZE, CROP_SIZE):
            smaller = image.shape[0] > CROP_SIZE
            image = cv2.resize(
                image, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA if smaller else cv2.INTER_LINEAR
            )
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0

    def plain(self, i: int) -> torch.Tensor:
        """Image ``i`` without jitter, ``(3, 256, 256)`` in [-1, 1] (the preview's fixed faces)."""
        return _to_tensor(self.read(i))

    def _target_of(self, i: int, rng: np.random.Generator) -> tuple[int, bool]:
        if rng.random() < self.same_person:
            if not self.index.grouped:  # a flat dataset knows no identities: the same image
                return i, True
            group = self.index.groups[self.index.person[i]]
            others = group[group != i]
            return (int(rng.choice(others)) if len(others) else i), True
        return int(rng.integers(len(self.index.files))), False

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        i = int(index) % len(self.index.files)
        rng = np.random.default_rng((self.seed, int(index)))
        j, same = self._target_of(i, rng)
        source, target = self.read(i), self.read(j)
        source_id = color_jitter(source, rng, self.jitter)
        real = color_jitter(source, rng, self.jitter)
        target = color_jitter(target, rng, self.jitter)
        eyes, widths, valid = eye_regions(self.index.landmarks[j] * CROP_SIZE - 0.5, CROP_SIZE)
        return {
            "source_id": _to_tensor(source_id),
            "source": _to_tensor(real),
            "target": _to_tensor(target),
            "same": torch.tensor(float(same)),
            "eyes": torch.from_numpy(eyes),
            "eye_width": torch.from_numpy(widths),
            "eye_valid": torch.from_numpy(valid),
        }
