"""Faceset dataset and loader: shapes, ranges, maps from the landmarks, determinism, workers, sharding."""

import pytest
import torch

from faceforge.errors import InputError
from faceforge.training.augment import AugmentOptions
from faceforge.training.data import EpochSampler, FacesetDataset, make_loader

KEYS = {"input", "target", "mask", "weight", "eyes", "mouth"}


@pytest.mark.parametrize(("size_in", "size_out"), [(64, 64), (64, 128)])
def test_items_have_the_documented_shapes_and_ranges(faceset_a, size_in, size_out):
    dataset = FacesetDataset(faceset_a, size_in, size_out, AugmentOptions(warp_to_landmarks=0.5), seed=3)
    assert len(dataset) >= 8
    item = dataset[0]
    assert set(item) == KEYS
    assert item["input"].shape == (3, size_in, size_in)
    for key, channels in (("target", 3), ("mask", 1), ("weight", 1), ("eyes", 1), ("mouth", 1)):
        assert item[key].shape == (channels, size_out, size_out), key
    for key, value in item.items():
        assert value.dtype == torch.float32 and value.min() >= 0 and value.max() <= 1 + 1e-6, key
    for key in ("eyes", "mouth"):
        assert set(item[key].unique().tolist()) == {0.0, 1.0}
        assert (item["mask"][item[key] > 0] > 0.5).float().mean() > 0.9  # inside the face
    assert 0.15 < item["mask"].mean() < 0.6
    assert (item["weight"] >= item["mask"] - 1e-3).all()  # the loss region covers the face mask


def test_seed_decides_the_augmentation(faceset_a):
    first, again = (FacesetDataset(faceset_a, 64, 64, AugmentOptions(), seed=5) for _ in range(2))
    other = FacesetDataset(faceset_a, 64, 64, AugmentOptions(), seed=6)
    for key in KEYS:
        assert torch.equal(first[2][key], again[2][key])
    assert not torch.equal(first[2]["input"], other[2]["input"])
    next_epoch = first[2 + len(first)]  # the same face, drawn again in the next epoch
    assert not torch.equal(first[2]["input"], next_epoch["input"])


def test_without_training_nothing_is_augmented(faceset_a):
    dataset = FacesetDataset(faceset_a, 64, 64, AugmentOptions(), seed=1, training=False)
    a, b = dataset[1], dataset[1 + len(dataset)]
    for key in KEYS:
        assert torch.equal(a[key], b[key])
    assert torch.equal(a["input"], a["target"])


def test_coverage_zooms_on_the_face(faceset_a):
    wide = FacesetDataset(faceset_a, 64, 64, AugmentOptions(), training=False, coverage=1.0)
    tight = FacesetDataset(faceset_a, 64, 64, AugmentOptions(), training=False, coverage=0.7)
    assert tight[0]["mask"].mean() > 1.5 * wide[0]["mask"].mean()
    with pytest.raises(ValueError):
        FacesetDataset(faceset_a, 64, 64, AugmentOptions(), coverage=1.5)


def test_warp_towards_the_other_faceset(faceset_a, faceset_b):
    options = AugmentOptions(warp_to_landmarks=1.0)
    dataset = FacesetDataset(faceset_a, 64, 64, options, seed=2, warp_towards=faceset_b)
    item = dataset[0]
    assert item["input"].shape == (3, 64, 64) and not torch.equal(item["input"], item["target"])
    own = FacesetDataset(faceset_a, 64, 64, options, seed=2)[0]  # warped towards faceset A's own faces
    assert torch.equal(own["target"], item["target"]) and not torch.equal(own["input"], item["input"])


def test_loader_batches_and_reshuffles(faceset_a):
    dataset = FacesetDataset(faceset_a, 64, 64, AugmentOptions(), seed=0)
    loader = make_loader(dataset, batch_size=4, workers=0, seed=0)
    epoch = list(loader)
    assert len(epoch) == len(dataset) // 4
    batch = epoch[0]
    assert batch["input"].shape == (4, 3, 64, 64) and batch["mask"].shape == (4, 1, 64, 64)
    first, second = list(iter(loader.sampler)), list(iter(loader.sampler))
    assert [i % len(dataset) for i in first] != [i % len(dataset) for i in second]
    assert min(second) >= len(dataset)  # a new epoch: new indices, new augmentations


def test_workers_give_the_same_batches(faceset_a):
    dataset = FacesetDataset(faceset_a, 64, 64, AugmentOptions(), seed=0)
    serial = list(make_loader(dataset, batch_size=4, workers=0, seed=7))
    loader = make_loader(dataset, batch_size=4, workers=2, seed=7)
    assert loader.persistent_workers
    parallel = list(loader)
    assert len(parallel) == len(serial)
    for left, right in zip(serial, parallel, strict=True):
        assert torch.equal(left["input"], right["input"]) and torch.equal(left["mouth"], right["mouth"])
    assert len(list(loader)) == len(serial)  # the workers live on into the next epoch


def test_ranks_get_disjoint_shards(faceset_a):
    dataset = FacesetDataset(faceset_a, 64, 64, AugmentOptions())
    shards = [set(EpochSampler(dataset, num_replicas=2, rank=r, seed=1, drop_last=True)) for r in (0, 1)]
    assert not shards[0] & shards[1] and len(shards[0]) == len(shards[1]) == len(dataset) // 2
    loader = make_loader(dataset, batch_size=2, workers=0, seed=1, rank=1, world_size=2)
    assert isinstance(loader.sampler, EpochSampler) and loader.sampler.rank == 1
    with pytest.raises(InputError, match="too few"):
        make_loader(dataset, batch_size=len(dataset), workers=0, seed=1, world_size=2)


def test_empty_or_missing_faceset(tmp_path):
    with pytest.raises(InputError):
        FacesetDataset(tmp_path / "nowhere", 64, 64, AugmentOptions())
