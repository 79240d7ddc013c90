"""GHOST's loss formulas on hand-made tensors, and the eye loss's response to a moved pupil."""

from __future__ import annotations

import math

import pytest
import torch

from faceforge.training.oneshot import losses as L


def test_hinge_losses_over_scales():
    fake = [torch.zeros(2, 1, 5, 5), torch.full((2, 1, 3, 3), 2.0)]
    real = [torch.full((2, 1, 5, 5), -1.0), torch.full((2, 1, 3, 3), 0.5)]
    # G: relu(1 - D(Y)) per scale: 1 and 0.
    assert float(L.generator_adversarial(fake)) == pytest.approx(1.0)
    # D: ½ (relu(1 - real): 2 and 0.5; relu(1 + fake): 1 and 3).
    assert float(L.discriminator_hinge(real, fake)) == pytest.approx(0.5 * (2.5 + 4.0))


def test_attribute_identity_and_reconstruction_losses():
    attrs_t = [torch.zeros(2, 4, 2, 2), torch.zeros(2, 2, 8, 8)]
    attrs_y = [torch.ones(2, 4, 2, 2), torch.full((2, 2, 8, 8), 2.0)]
    assert float(L.attribute_loss(attrs_t, attrs_y)) == pytest.approx(0.5 * (1.0 + 4.0))

    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert float(L.identity_loss(a, 3 * a)) == pytest.approx(0.0, abs=1e-6)
    assert float(L.identity_loss(a, -a)) == pytest.approx(2.0)

    target = torch.zeros(3, 3, 4, 4)
    output = torch.stack([torch.full((3, 4, 4), v) for v in (1.0, 2.0, 3.0)])
    same = torch.tensor([1.0, 0.0, 1.0])
    # ½ MSE of the same-person pairs only (1 and 9), normalised by their count.
    assert float(L.reconstruction_loss(output, target, same)) == pytest.approx(0.5 * (1 + 9) / 2, rel=1e-5)
    assert float(L.reconstruction_loss(output, target, torch.zeros(3))) == 0.0


def _eye_scene(pupil_x: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A grey 64-px image (in [-1, 1]) with a bright eye opening and a dark pupil disc at ``pupil_x``."""
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    opening = ((xs - 32) / 14) ** 2 + ((ys - 30) / 6) ** 2 <= 1
    image = torch.zeros(1, 3, 64, 64)
    image[:, :, opening] = 0.8
    pupil = (xs - pupil_x) ** 2 + (ys - 30) ** 2 <= 9
    image[:, :, pupil & opening] = -0.9
    return image, opening.float()[None, None]


def test_pupil_position_finds_the_dark_disc():
    image, mask = _eye_scene(27.0)
    found = L.pupil_positions(image, mask)[0, 0]
    assert float(found[0]) == pytest.approx(27.0, abs=0.5) and float(found[1]) == pytest.approx(30.0, abs=0.5)


def test_eye_loss_measures_the_pupil_shift_in_eye_widths_and_has_gradients():
    target, mask = _eye_scene(30.0)
    width, valid = torch.tensor([[28.0]]), torch.tensor([[1.0]])
    assert float(L.eye_loss(target, target, mask, width, valid)) == pytest.approx(0.0, abs=1e-8)
    moved, _ = _eye_scene(37.0)
    moved.requires_grad_(True)
    loss = L.eye_loss(moved, target, mask, width, valid)
    assert float(loss.detach()) == pytest.approx((7.0 / 28.0) ** 2, rel=0.1)
    loss.backward()
    assert moved.grad is not None and moved.grad.abs().sum() > 0
    assert float(L.eye_loss(moved.detach(), target, mask, width, torch.zeros(1, 1))) == 0.0  # not counted


def test_an_empty_eye_region_stays_finite():
    image, _ = _eye_scene(30.0)
    empty = torch.zeros(1, 1, 64, 64)
    value = L.eye_loss(image, image, empty, torch.tensor([[0.0]]), torch.tensor([[0.0]]))
    assert math.isfinite(float(value))


def test_distillation_loss_is_the_output_mse():
    assert float(L.distillation_loss(torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4))) == pytest.approx(1.0)
