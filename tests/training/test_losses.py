"""Losses: zero for a perfect reconstruction, weighted as documented; every architecture learns with them."""

import dataclasses

import pytest
import torch

from faceforge.nets.autoencoders import ARCHITECTURES, build_autoencoder, scaled
from faceforge.training.augment import AugmentOptions
from faceforge.training.data import FacesetDataset, make_loader
from faceforge.training.losses import LOSS_TERMS, OUTSIDE_WEIGHT, LossConfig, swap_loss, weight_map

SIZE = 64


def _batch(seed: int = 0, size: int = SIZE) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    face = torch.zeros(2, 1, size, size)
    face[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1.0
    eyes, mouth = torch.zeros_like(face), torch.zeros_like(face)
    eyes[..., size // 4 : size // 4 + 4, size // 4 : size // 2] = 1.0
    mouth[..., 3 * size // 4 - 4 : 3 * size // 4, size // 4 : size // 2] = 1.0
    return {
        "target": torch.rand(2, 3, size, size, generator=g),
        "mask": face.clone(),
        "weight": face,
        "eyes": eyes,
        "mouth": mouth,
    }


@pytest.mark.parametrize("name", sorted(LOSS_TERMS))
def test_identical_images_give_zero(name):
    batch = _batch()
    value = LOSS_TERMS[name](batch["target"], batch["target"], torch.ones_like(batch["weight"]))
    assert value.ndim == 0 and abs(value.item()) < 1e-5


@pytest.mark.parametrize("name", sorted(LOSS_TERMS))
def test_terms_grow_with_the_error(name):
    batch = _batch()
    target, ones = batch["target"], torch.ones_like(batch["weight"])
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(1))
    values = [
        LOSS_TERMS[name]((target + s * noise).clamp(0, 1), target, ones).item() for s in (0.02, 0.1, 0.3)
    ]
    assert 0 < values[0] < values[1] < values[2]


def test_swap_loss_of_a_perfect_reconstruction_is_zero():
    batch = _batch()
    total, parts = swap_loss(batch["target"], batch["mask"], batch, LossConfig())
    assert total.item() == pytest.approx(0.0, abs=1e-5)
    assert set(parts) == {"ssim", "l1", "mask", "total"}
    assert all(isinstance(v, float) for v in parts.values())
    _, parts = swap_loss(batch["target"], None, batch, LossConfig(terms=(("mse", 2.0),)))
    assert set(parts) == {"mse", "total"}


def test_weight_map_follows_the_config():
    batch = _batch()
    plain = weight_map(batch, LossConfig(mask_weighting=False, eye_multiplier=1.0, mouth_multiplier=1.0))
    assert torch.equal(plain, torch.ones_like(plain))
    weights = weight_map(batch, LossConfig(eye_multiplier=3.0, mouth_multiplier=2.0))
    face, eyes, mouth = batch["weight"].bool(), batch["eyes"].bool(), batch["mouth"].bool()
    assert torch.allclose(weights[~face], torch.tensor(OUTSIDE_WEIGHT))
    assert torch.allclose(weights[eyes], torch.tensor(3.0))
    assert torch.allclose(weights[mouth], torch.tensor(2.0))
    assert torch.allclose(weights[face & ~eyes & ~mouth], torch.tensor(1.0))


def test_l1_is_the_weighted_mean():
    batch = _batch()
    pred = batch["target"].clone()
    pred[batch["eyes"].expand_as(pred).bool()] += 0.1  # an error only in the eyes
    config = LossConfig(terms=(("l1", 1.0),), eye_multiplier=3.0, mouth_multiplier=2.0)
    weights = weight_map(batch, config)
    expected = (0.1 * 3.0 * batch["eyes"].sum() * 3) / (weights.sum() * 3)
    total, _ = swap_loss(pred, None, batch, config)
    assert total.item() == pytest.approx(expected.item(), rel=1e-4)


def test_multipliers_and_mask_weighting_change_the_loss():
    batch = _batch()
    base = LossConfig(terms=(("l1", 1.0), ("ssim", 1.0)), eye_multiplier=1.0, mouth_multiplier=1.0)

    def loss(pred, config):
        return swap_loss(pred, None, batch, config)[0].item()

    in_eyes = batch["target"] + 0.2 * batch["eyes"]
    in_mouth = batch["target"] + 0.2 * batch["mouth"]
    outside = batch["target"] + 0.2 * (1 - batch["weight"])
    assert loss(in_eyes, dataclasses.replace(base, eye_multiplier=3.0)) > 1.5 * loss(in_eyes, base)
    assert loss(in_mouth, dataclasses.replace(base, mouth_multiplier=2.0)) > 1.3 * loss(in_mouth, base)
    assert loss(in_mouth, dataclasses.replace(base, eye_multiplier=3.0)) < loss(in_mouth, base)
    assert loss(outside, base) < 0.5 * loss(outside, dataclasses.replace(base, mask_weighting=False))


def test_mask_loss_only_with_a_learned_mask():
    batch = _batch()
    wrong = 1.0 - batch["mask"]
    total, parts = swap_loss(batch["target"], wrong, batch, LossConfig(mask_loss=0.5))
    assert parts["mask"] == pytest.approx(1.0)  # every pixel wrong by 1
    assert total.item() == pytest.approx(0.5 * parts["mask"], rel=1e-5)
    assert "mask" not in swap_loss(batch["target"], wrong, batch, LossConfig(mask_loss=0.0))[1]


@pytest.mark.parametrize("size", [32, 64, 128])
def test_ms_ssim_works_at_small_sizes(size):
    batch = _batch(size=size)
    target, ones = batch["target"], torch.ones_like(batch["weight"])
    pred = (target + 0.1 * torch.randn(target.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    pred.requires_grad_(True)
    value = LOSS_TERMS["ms_ssim"](pred, target, ones)
    value.backward()
    assert 0.0 < value.item() < 1.0 and torch.isfinite(pred.grad).all()
    blurred = torch.nn.functional.avg_pool2d(target, 3, 1, 1)
    assert LOSS_TERMS["ms_ssim"](blurred, target, ones).item() > 0.05


def test_loss_config_validation_and_json_lists():
    assert LossConfig(terms=[["ms_ssim", 1], ["mse", 0.5]]).terms == (("ms_ssim", 1.0), ("mse", 0.5))
    for bad in (
        {"terms": (("lpips", 1.0),)},
        {"terms": ()},
        {"terms": (("l1", -1.0),)},
        {"eye_multiplier": -1},
    ):
        with pytest.raises(ValueError):
            LossConfig(**bad)


def _batches(loader, count):
    out = []
    while len(out) < count:
        out.extend(loader)
    return out[:count]


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_training_lowers_the_loss(arch, faceset_a, faceset_b):
    """30 Adam steps (batch 4 per side, 1/8 width) on the tiny facesets lower the loss on fixed samples."""
    torch.manual_seed(0)
    config = scaled(ARCHITECTURES[arch], 1 / 8)
    facesets = {"a": faceset_a, "b": faceset_b}
    sizes = (config.input_size, config.output_size)
    pools, fixed = {}, {}
    for side, faceset in facesets.items():
        loader = make_loader(FacesetDataset(faceset, *sizes, AugmentOptions(), seed=1), 4, 0, seed=1)
        pools[side] = _batches(loader, 6)
        still = FacesetDataset(faceset, *sizes, AugmentOptions(), training=False)
        fixed[side] = torch.utils.data.default_collate([still[i] for i in range(4)])
    model = build_autoencoder(config)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = LossConfig()

    def evaluate() -> float:
        with torch.no_grad():
            return sum(swap_loss(*model(fixed[s]["input"], s), fixed[s], losses)[0].item() for s in facesets)

    before = evaluate()
    for step in range(30):
        optimiser.zero_grad()
        total = sum(
            swap_loss(*model(pools[s][step % 6]["input"], s), pools[s][step % 6], losses)[0] for s in facesets
        )
        total.backward()
        optimiser.step()
    after = evaluate()
    assert after < 0.85 * before, (before, after)


def test_a_batch_loss_is_the_mean_of_its_halves_losses():
    """Each image counts equally however much of it the mask weights, so the loss of a batch is the mean of
    its halves' losses: what DDP ranks that each see half a batch average their gradients over."""
    batch = _batch()
    batch["weight"][1] *= 0.2  # the second image's face weighs less than the first's
    pred = (batch["target"] + 0.2 * torch.randn(batch["target"].shape)).clamp(0, 1)
    config = LossConfig(terms=(("ssim", 1.0), ("l1", 1.0), ("mse", 1.0), ("ms_ssim", 1.0)))
    whole, _ = swap_loss(pred, batch["mask"], batch, config)
    halves = [
        swap_loss(
            pred[i : i + 1], batch["mask"][i : i + 1], {k: v[i : i + 1] for k, v in batch.items()}, config
        )[0]
        for i in range(2)
    ]
    assert whole.item() == pytest.approx((halves[0] + halves[1]).item() / 2, rel=1e-6)
