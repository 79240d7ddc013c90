"""The configurations of both trainers: their shared run-setting checks, JSON forms (unknown keys refused)
and the changes a resumed run may make."""

from __future__ import annotations

import dataclasses
import json

import pytest

from faceforge.training.config import TrainConfig
from faceforge.training.oneshot.config import OneshotConfig

CONFIGS = [TrainConfig, OneshotConfig]


@pytest.mark.parametrize("cls", CONFIGS)
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"amp": "fp8"}, "Unknown AMP mode 'fp8'"),
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"save_every": 0}, "save_every must be at least 1"),
        ({"preview_count": 0}, "preview_count must be at least 1"),
        ({"log_every": 0}, "log_every must be at least 1"),
        ({"iterations": -1}, "iterations must not be negative, got -1"),
        ({"snapshot_every": -1}, "snapshot_every must not be negative"),
        ({"keep_snapshots": -1}, "keep_snapshots must not be negative"),
        ({"preview_every": -1}, "preview_every must not be negative"),
        ({"workers": -1}, "workers must not be negative"),
    ],
)
def test_both_refuse_run_settings_out_of_range_by_name(cls, bad, message):
    with pytest.raises(ValueError, match=message):
        cls(**bad)


@pytest.mark.parametrize("name", ["stage2_at", "min_size"])
def test_oneshot_refuses_its_own_negative_settings(name):
    with pytest.raises(ValueError, match=f"{name} must not be negative"):
        OneshotConfig(**{name: -1})


def test_saved_forms_keep_their_layout_and_read_back():
    train = TrainConfig(iterations=7, amp="bf16")
    saved = json.loads(json.dumps(train.to_dict()))
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    assert list(saved) == ["format", "version", *fields] and saved["format"] == "faceforge-train-config"
    assert TrainConfig.from_dict(saved) == train

    oneshot = OneshotConfig(jitter=(0.1, 0.2, 0.3, 0.4), teacher="teacher.pth", stage2_at=3)
    saved = json.loads(json.dumps(oneshot.to_dict()))
    assert list(saved) == [f.name for f in dataclasses.fields(OneshotConfig)]
    assert saved["jitter"] == [0.1, 0.2, 0.3, 0.4] and saved["optimiser"]["betas"] == [0.0, 0.999]
    assert OneshotConfig.from_dict(saved) == oneshot


@pytest.mark.parametrize(("cls", "what"), [(TrainConfig, "training"), (OneshotConfig, "one-shot training")])
def test_unknown_keys_are_refused_at_the_top_and_in_sections(cls, what):
    saved = cls().to_dict()
    with pytest.raises(ValueError, match=f"Unknown {what} settings: zoom"):
        cls.from_dict({**saved, "zoom": 2})
    with pytest.raises(ValueError, match="Unknown optimiser settings: momentum"):
        cls.from_dict({**saved, "optimiser": {**saved["optimiser"], "momentum": 0.9}})


@pytest.mark.parametrize("cls", CONFIGS)
def test_a_resumed_run_changes_run_options_only(cls):
    stored = cls()
    resumed = stored.resumed_with({"iterations": 9, "amp": "off", "workers": 0})
    assert (resumed.iterations, resumed.amp, resumed.workers) == (9, "off", 0)
    assert resumed.seed == stored.seed
    with pytest.raises(ValueError, match="A resumed run cannot change batch_size, seed"):
        stored.resumed_with({"seed": 1, "batch_size": 2, "iterations": 9})
