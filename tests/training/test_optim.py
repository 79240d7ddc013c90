"""Optimisers, warm-up and schedules, clipping, and the optimiser config's validation and JSON form."""

from __future__ import annotations

import json

import pytest
import torch
from lion_pytorch import Lion

from faceforge.training.optim import (
    OptimiserConfig,
    build_optimizer,
    build_scheduler,
    clip_gradients,
    follow_run_rate,
    fused_available,
    load_scheduler_state,
    lr_factor,
    scheduler_state,
)
from faceforge.training.run_settings import from_plain, to_plain

CPU = torch.device("cpu")


def _params() -> list[torch.nn.Parameter]:
    return list(torch.nn.Linear(4, 3).parameters())


@pytest.mark.parametrize(
    ("name", "kind"),
    [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("radam", torch.optim.RAdam), ("lion", Lion)],
)
def test_each_optimiser_builds_and_steps(name, kind):
    params = _params()
    opt = build_optimizer(params, OptimiserConfig(name=name, lr=1e-2, eps=1e-6, weight_decay=0.01), CPU)
    assert isinstance(opt, kind) and opt.param_groups[0]["lr"] == 1e-2
    if name in ("adam", "adamw"):
        assert opt.param_groups[0]["fused"] == fused_available(CPU)
        assert opt.param_groups[0]["eps"] == 1e-6
    before = params[0].detach().clone()
    params[0].sum().backward()
    opt.step()
    assert not torch.equal(before, params[0])


def test_fused_can_be_turned_off():
    opt = build_optimizer(_params(), OptimiserConfig(fused=False), CPU)
    assert not opt.param_groups[0]["fused"] and opt.param_groups[0]["foreach"]


def test_warmup_then_constant_or_cosine():
    warm = OptimiserConfig(lr=1.0, warmup=4)
    assert [lr_factor(i, warm, 100) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    cosine = OptimiserConfig(lr=1.0, warmup=0, schedule="cosine", min_lr_ratio=0.1)
    assert lr_factor(0, cosine, 101) == pytest.approx(1.0)
    assert lr_factor(50, cosine, 101) == pytest.approx(0.55)
    assert lr_factor(100, cosine, 101) == pytest.approx(0.1)


def test_step_schedule_multiplies_the_rate_every_step_size_iterations():
    step = OptimiserConfig(lr=1.0, schedule="step", step_size=3, step_gamma=0.5)
    assert [lr_factor(i, step, 100) for i in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_scheduler_state_round_trips_with_primitives_only(tmp_path):
    config = OptimiserConfig(lr=1e-3, warmup=10)
    opt = build_optimizer(_params(), config, CPU)
    sched = build_scheduler(opt, config, 100)
    for _ in range(3):
        opt.step()
        sched.step()
    torch.save(scheduler_state(sched), tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    other_opt = build_optimizer(_params(), config, CPU)
    other = build_scheduler(other_opt, config, 100)
    load_scheduler_state(other, state)
    other_opt.step()
    other.step()
    opt.step()
    sched.step()
    assert other.get_last_lr() == sched.get_last_lr() == [pytest.approx(1e-3 * 5 / 10)]


@pytest.mark.parametrize("name", ["adam", "lion"])
def test_a_resumed_optimiser_takes_this_runs_hyper_parameters(name):
    saved = OptimiserConfig(name=name, lr=1e-3, betas=(0.5, 0.999), eps=1e-7, weight_decay=0.0)
    opt = build_optimizer(_params(), saved, CPU)
    sched = build_scheduler(opt, saved, 100)
    resumed = OptimiserConfig(name=name, lr=2e-4, betas=(0.0, 0.99), eps=1e-5, weight_decay=1e-4)
    follow_run_rate(opt, sched, resumed, 50, 100)
    (group,) = opt.param_groups
    assert group["betas"] == (0.0, 0.99) and group["weight_decay"] == 1e-4
    assert group["lr"] == pytest.approx(2e-4 * lr_factor(50, resumed, 100))
    assert group.get("eps", 1e-5) == 1e-5


def test_clipping_bounds_the_global_norm():
    params = _params()
    for p in params:
        p.grad = torch.full_like(p, 10.0)
    norm = clip_gradients(params, 1.0)
    assert norm > 1.0
    assert torch.linalg.norm(torch.cat([p.grad.flatten() for p in params])) == pytest.approx(1.0, rel=1e-4)
    assert clip_gradients(params, 0.0) is None


def test_config_validation_and_json():
    config = OptimiserConfig(name="lion", lr=1e-5, betas=(0.9, 0.99))
    assert from_plain(OptimiserConfig, json.loads(json.dumps(to_plain(config))), "optimiser") == config
    with pytest.raises(ValueError, match="Unknown optimiser settings: momentum"):
        from_plain(OptimiserConfig, {**to_plain(config), "momentum": 0.9}, "optimiser")
    for bad in ({"name": "sgd"}, {"lr": 0.0}, {"betas": (1.0, 0.9)}, {"clip": -1.0}, {"schedule": "linear"},
                {"step_size": 0}, {"step_gamma": 0.0}):  # fmt: skip
        with pytest.raises(ValueError):
            OptimiserConfig(**bad)
