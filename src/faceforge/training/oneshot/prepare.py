"""Preparation of a one-shot dataset: ordinary photos in, the crops GHOST trains and swaps on out.

Every photo's largest face is found with faceforge's analyser; its five anchor points
(:func:`~faceforge.geometry.alignment.anchor_points` of the FaceMesh landmarks) are aligned with
:func:`~faceforge.geometry.ghost_crop.ghost_alignment` (GHOST's pose templates, or the frontal one only
with ``poses=False``) and the photo is warped into a ``size``-px crop, bilinear with a black border, as
GHOST cropped VGGFace2. The identity grouping is kept: each sub-folder of the source (searched
recursively) becomes one identity folder of the dataset; photos directly in the source make a flat dataset.

Each output folder gets a ``landmarks.npz`` (``names``, ``points``: the 478 FaceMesh points in the crop as
fractions of its side), written atomically once the folder's crops are all written; a folder that has one
is skipped when the preparation runs again, so a killed run resumes. ``oneshot-dataset.json`` records the
crop geometry, which a later run must keep.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.errors import InputError
from faceforge.geometry.alignment import anchor_points, transform_landmarks
from faceforge.geometry.ghost_crop import ghost_alignment
from faceforge.media.atomic import atomic_output
from faceforge.media.images import image_files, read_image, write_image
from faceforge.models.folder import read_json
from faceforge.progress import Progress
from faceforge.training.checkpoint import write_json
from faceforge.training.oneshot.data import CROP_SIZE, LANDMARKS_FILE
from faceforge.types import LANDMARK_POINTS

DATASET_INFO = "oneshot-dataset.json"
DATASET_FORMAT = "faceforge-oneshot-dataset"
DATASET_VERSION = 1


@dataclass(frozen=True, slots=True)
class PrepareOptions:
    """``size``: crop side in pixels; ``poses``: choose among GHOST's pose templates (else frontal only);
    ``min_face``: least face size in source pixels (smaller faces are skipped); ``quality``: JPEG quality."""

    size: int = CROP_SIZE
    poses: bool = True
    min_face: float = 64.0
    quality: int = 95

    def crop_info(self) -> dict[str, object]:
        return {"size": self.size, "poses": self.poses}


@dataclass(slots=True)
class PrepareReport:
    crops: int = 0
    no_face: int = 0  # photos without a face (or with only faces under min_face)
    unreadable: int = 0
    folders_done_before: int = 0  # identity folders a previous run had finished
    identities: int = 0


def _plan(source: Path, dataset: Path) -> list[tuple[Path, list[Path]]]:
    """(output folder, photos) per identity: one per sub-folder of ``source``, or one for the flat case."""
    if not source.is_dir():
        raise InputError(f"The photo folder {source} does not exist.")
    groups = [
        (dataset / sub.name, image_files(sub, recursive=True))
        for sub in sorted(source.iterdir())
        if sub.is_dir() and not sub.name.startswith(".") and sub.resolve() != dataset.resolve()
    ]
    groups = [(out, photos) for out, photos in groups if photos]
    loose = image_files(source)
    if groups and loose:
        raise InputError(
            f"{source} holds both photos and sub-folders of photos; put each person's photos in their own "
            "sub-folder, or all photos in the folder itself."
        )
    if loose:
        return [(dataset, loose)]
    if not groups:
        raise InputError(f"{source} holds no photos.")
    return groups


def _check_info(dataset: Path, options: PrepareOptions) -> None:
    path = dataset / DATASET_INFO
    if path.is_file():
        stored = read_crop_info(dataset)
        if stored != options.crop_info():
            raise InputError(
                f"{dataset} was prepared with crops {stored}; prepare into a new folder to use "
                f"{options.crop_info()}."
            )
    else:
        dataset.mkdir(parents=True, exist_ok=True)
        write_json(path, {"format": DATASET_FORMAT, "version": DATASET_VERSION, "crop": options.crop_info()})


def read_crop_info(dataset: Path) -> dict[str, object]:
    """The crop geometry a prepared dataset records; GHOST's own (256 px, pose templates) for a dataset
    made elsewhere, as GHOST's VGGFace2 crops were."""
    path = Path(dataset) / DATASET_INFO
    if not path.is_file():
        return PrepareOptions().crop_info()
    info = read_json(path)
    crop = info.get("crop") if isinstance(info, dict) and info.get("format") == DATASET_FORMAT else None
    if not isinstance(crop, dict):
        raise InputError(f"{path} is not a one-shot dataset description.")
    return dict(crop)


def crop_face(
    image: np.ndarray, analyser: FaceAnalyser, options: PrepareOptions
) -> tuple[np.ndarray, np.ndarray] | None:
    """The GHOST crop of the largest face in ``image`` and its landmarks ``(478, 2)`` in crop pixels, or
    None when no face of at least ``min_face`` px is found."""
    faces = [face for face in analyser.faces(image) if face.size >= options.min_face]
    if not faces:
        return None
    face = faces[0]
    matrix, _ = ghost_alignment(anchor_points(face.landmarks), options.size, options.poses)
    crop = cv2.warpAffine(
        image, matrix, (options.size, options.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return crop, transform_landmarks(face.landmarks, matrix)[:, :2]


def _crop_names(photos: list[Path]) -> list[str]:
    """``<stem>.jpg`` per photo; photos sharing a stem get their path below the photos' common folder
    spelt out instead (``2019/x/1.jpg`` -> ``2019_x_1_jpg.jpg``)."""
    stems = Counter(p.stem for p in photos)
    root = Path(os.path.commonpath([p.parent for p in photos])) if photos else Path()
    return [
        f"{p.stem if stems[p.stem] == 1 else '_'.join(p.relative_to(root).parts).replace('.', '_')}.jpg"
        for p in photos
    ]


def prepare_dataset(
    source: Path,
    dataset: Path,
    analyser: FaceAnalyser,
    options: PrepareOptions | None = None,
    progress: Progress | None = None,
) -> PrepareReport:
    """Crop the photos of ``source`` into the one-shot dataset ``dataset`` (see the module docstring)."""
    options = options or PrepareOptions()
    source, dataset = Path(source), Path(dataset)
    plan = _plan(source, dataset)
    _check_info(dataset, options)
    report = PrepareReport(identities=len(plan))
    total, done = sum(len(photos) for _, photos in plan), 0
    for folder, photos in plan:
        if (folder / LANDMARKS_FILE).is_file():
            report.folders_done_before += 1
            done += len(photos)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        names, points = [], []
        for photo, name in zip(photos, _crop_names(photos), strict=True):
            try:
                image = read_image(photo)
            except InputError:
                report.unreadable += 1
            else:
                found = crop_face(image, analyser, options)
                if found is None:
                    report.no_face += 1
                else:
                    crop, landmarks = found
                    write_image(folder / name, crop, quality=options.quality)
                    names.append(name)
                    points.append((landmarks + 0.5) / options.size)
                    report.crops += 1
            done += 1
            if progress is not None:
                progress(done, total)
        with atomic_output(folder / LANDMARKS_FILE, durable=True) as temp, open(temp, "wb") as handle:
            np.savez(
                handle,
                names=np.asarray(names, dtype=str),
                points=np.asarray(points, np.float32).reshape(len(points), LANDMARK_POINTS, 2),
            )
    return report
