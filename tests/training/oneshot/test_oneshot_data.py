"""Preparation (GHOST crops grouped by person, landmarks, resumable) and the pair dataset (layouts, size
filter, same-person pairs, seeded jitter, eye regions)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.errors import InputError
from faceforge.media.images import read_image, write_image
from faceforge.training.oneshot.data import (
    LANDMARKS_FILE,
    OneshotDataset,
    color_jitter,
    eye_regions,
    read_landmarks,
    scan_dataset,
)
from faceforge.training.oneshot.prepare import (
    DATASET_INFO,
    PrepareOptions,
    _crop_names,
    prepare_dataset,
    read_crop_info,
)

NO_JITTER = (0.0, 0.0, 0.0, 0.0)


def test_preparation_makes_256_crops_grouped_by_person(prepared, people):
    dataset, report = prepared
    assert (report.crops, report.no_face, report.unreadable, report.identities) == (6, 1, 0, 3)
    assert sorted(p.name for p in dataset.iterdir() if p.is_dir()) == sorted(people)
    for person, photos in people.items():
        crops = sorted(p.name for p in (dataset / person).glob("*.jpg"))
        assert crops == sorted(f"{Path(name).stem}.jpg" for name in photos)
        for name in crops:
            assert read_image(dataset / person / name).shape == (256, 256, 3)
        marks = read_landmarks(dataset / person)
        assert sorted(marks) == crops
        for points in marks.values():
            # The eyes of a GHOST crop sit in its upper middle (frontal template: x 0.35/0.65, y 0.46).
            eyes = points[[468, 473]]
            assert np.all((eyes[:, 1] > 0.3) & (eyes[:, 1] < 0.6)), person
            assert np.all((eyes[:, 0] > 0.2) & (eyes[:, 0] < 0.8)), person
    info = json.loads((dataset / DATASET_INFO).read_text())
    assert info["crop"] == {"size": 256, "poses": True} and read_crop_info(dataset) == info["crop"]


def test_preparation_resumes_and_keeps_its_crop_geometry(prepared, photo_folder):
    dataset, _ = prepared

    class NoAnalysis(FaceAnalyser):  # a resumed run must not analyse the finished folders again
        def __init__(self) -> None:
            pass

        def faces(self, image):
            raise AssertionError("a finished folder was analysed again")

    again = prepare_dataset(photo_folder, dataset, NoAnalysis())
    assert (again.folders_done_before, again.crops) == (3, 0)
    with pytest.raises(InputError, match="prepared with crops"):
        prepare_dataset(photo_folder, dataset, NoAnalysis(), PrepareOptions(poses=False))


def test_preparation_refuses_a_mixed_layout(tmp_path):
    (tmp_path / "src" / "anna").mkdir(parents=True)
    write_image(tmp_path / "src" / "anna" / "a.png", np.zeros((8, 8, 3), np.uint8))
    write_image(tmp_path / "src" / "b.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="both photos and sub-folders"):
        prepare_dataset(tmp_path / "src", tmp_path / "out", None)  # type: ignore[arg-type]


def test_crop_names_stay_unique_in_nested_folders():
    anna = Path("photos/anna")
    photos = [anna / "2019/x/1.jpg", anna / "2020/x/1.jpg", anna / "a.jpg", anna / "a.png", anna / "b.jpg"]
    assert _crop_names(photos) == ["2019_x_1_jpg.jpg", "2020_x_1_jpg.jpg", "a_jpg.jpg", "a_png.jpg", "b.jpg"]


def test_a_broken_dataset_description_is_one_sentence(tmp_path):
    (tmp_path / "src").mkdir()
    write_image(tmp_path / "src" / "a.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / DATASET_INFO).write_text("{not json")
    with pytest.raises(InputError, match="is not readable JSON"):
        prepare_dataset(tmp_path / "src", tmp_path / "out", None)  # type: ignore[arg-type]
    (tmp_path / "out" / DATASET_INFO).write_text("[]")
    with pytest.raises(InputError, match="is not a one-shot dataset description"):
        prepare_dataset(tmp_path / "src", tmp_path / "out", None)  # type: ignore[arg-type]


def _flat_copy(dataset: Path, root: Path) -> Path:
    """The crops of the prepared dataset in one flat folder (with their landmarks)."""
    root.mkdir()
    names, points = [], []
    for person in sorted(p.name for p in dataset.iterdir() if p.is_dir()):
        marks = read_landmarks(dataset / person)
        for name, value in marks.items():
            shutil.copy(dataset / person / name, root / f"{person}-{name}")
            names.append(f"{person}-{name}")
            points.append(value)
    np.savez(root / LANDMARKS_FILE, names=np.asarray(names), points=np.stack(points))
    return root


def test_scan_filters_small_and_unreadable_images(oneshot_dataset, tmp_path):
    flat = _flat_copy(oneshot_dataset, tmp_path / "flat")
    write_image(flat / "tiny.png", np.zeros((100, 120, 3), np.uint8))
    (flat / "broken.jpg").write_bytes(b"not an image")
    index = scan_dataset(flat, min_size=128)
    assert (len(index.files), index.too_small, index.unreadable, index.grouped) == (6, 1, 1, False)
    assert index.with_landmarks == 6 and len(index.groups) == 1
    assert len(scan_dataset(flat, min_size=100).files) == 7  # the tiny one is in, without landmarks
    assert scan_dataset(flat, min_size=100).with_landmarks == 6
    with pytest.raises(InputError, match="no usable training images"):
        scan_dataset(flat, min_size=300)


def test_same_person_targets_are_another_photo_of_that_person(oneshot_dataset):
    index = scan_dataset(oneshot_dataset, min_size=128)
    assert index.grouped and [len(g) for g in index.groups] == [2, 2, 2]
    same = OneshotDataset(index, seed=0, same_person=1.0, jitter=NO_JITTER)
    plain = [same.plain(i) for i in range(len(same))]
    for k in range(12):
        item = same[k]
        i = k % len(same)
        partner = next(int(j) for j in index.groups[index.person[i]] if j != i)
        assert item["same"] == 1.0
        assert torch.equal(item["source"], plain[i]) and torch.equal(item["target"], plain[partner])
    other = OneshotDataset(index, seed=0, same_person=0.0, jitter=NO_JITTER)
    assert all(other[k]["same"] == 0.0 for k in range(12))


def test_flat_same_person_pairs_reuse_the_image(oneshot_dataset, tmp_path):
    index = scan_dataset(_flat_copy(oneshot_dataset, tmp_path / "flat"), min_size=128)
    dataset = OneshotDataset(index, seed=0, same_person=1.0, jitter=NO_JITTER)
    for k in range(6):
        item = dataset[k]
        assert torch.equal(item["source"], item["target"]) and item["same"] == 1.0


def test_items_are_seeded_jittered_and_in_range(oneshot_dataset):
    index = scan_dataset(oneshot_dataset, min_size=128)
    dataset = OneshotDataset(index, seed=3, same_person=0.2, jitter=(0.2, 0.2, 0.2, 0.01))
    a, b = dataset[4], dataset[4]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["source"], dataset[4 + len(dataset)]["source"])  # next epoch: new jitter
    assert not torch.equal(a["source_id"], a["source"])  # two independent jitters of the source
    for key in ("source_id", "source", "target"):
        assert a[key].shape == (3, 256, 256) and a[key].min() >= -1.0 and a[key].max() <= 1.0
    assert a["eyes"].shape == (2, 256, 256) and a["eye_valid"].tolist() == [1.0, 1.0]
    other_seed = OneshotDataset(index, seed=4, same_person=0.2, jitter=(0.2, 0.2, 0.2, 0.01))
    assert not torch.equal(a["source"], other_seed[4]["source"])


def test_color_jitter_ranges():
    rng = np.random.default_rng(0)
    image = rng.random((16, 16, 3), dtype=np.float32)
    assert np.array_equal(color_jitter(image, rng, NO_JITTER), image)
    out = color_jitter(image, rng, (0.5, 0.5, 0.5, 0.1))
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    assert np.abs(out - image).mean() > 0.01
    brighter = color_jitter(np.full((4, 4, 3), 0.5, np.float32), np.random.default_rng(1), (0.4, 0, 0, 0))
    assert np.ptp(brighter) == 0 and abs(float(brighter[0, 0, 0]) - 0.5) > 0.001


def test_eye_regions_follow_the_landmarks(oneshot_dataset):
    points = next(iter(read_landmarks(oneshot_dataset / "anna").values())) * 256 - 0.5
    masks, widths, valid = eye_regions(points, 256)
    assert valid.tolist() == [1.0, 1.0] and np.all(widths > 15)
    for k, iris in enumerate((473, 468)):  # subject's left eye holds iris 473, the right one 468
        ys, xs = np.nonzero(masks[k])
        assert abs(xs.mean() - points[iris, 0]) < 6 and abs(ys.mean() - points[iris, 1]) < 6
    unknown = np.full_like(points, np.nan)
    assert eye_regions(unknown, 256)[2].tolist() == [0.0, 0.0]
