"""faceforge's own restorer, trained for a few hundred steps on a faceset from the test media, restores
held-out crops of that faceset measurably (PSNR and SSIM above the degraded input and above bicubic
up-scaling), resumes where it stopped, and serves ``--enhance face=MODEL_DIR``."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceforge.config import SwapConfig
from faceforge.enhance.options import EnhanceOptions
from faceforge.enhance.restorer import RestorerModel
from faceforge.enhance.restorer_net import RestorerShape
from faceforge.pipeline.session import SwapSession
from faceforge.training.restorer.config import RestorerConfig
from faceforge.training.restorer.data import load_crop
from faceforge.training.restorer.measure import held_out_scores
from faceforge.training.restorer.trainer import RestorerTrainer

STEPS = 300
SMALL = RestorerConfig(
    net=RestorerShape(width=8, blocks=2),
    optimiser=dataclasses.replace(RestorerConfig().optimiser, lr=1e-3, warmup=20),
    size=64,  # the faceset's 128-px crops at half size, a narrow net and L1 alone keep the run short
    ssim_weight=0.0,
    holdout=3,
    batch_size=4,
    iterations=STEPS,
    save_every=STEPS,
    preview_every=0,
    log_every=100,
    amp="off",
    workers=0,
)


@pytest.fixture(scope="module")
def trained(faceset_a: Path, tmp_path_factory) -> tuple[Path, list[Path]]:
    model_dir = tmp_path_factory.mktemp("restorer") / "model"
    with RestorerTrainer(SMALL, faceset_a, model_dir, device="cpu", tensorboard=False) as trainer:
        report = trainer.run()
        held_out = trainer.held_out
    assert report.iteration == STEPS
    return model_dir, held_out


def test_held_out_crops_are_restored_better_than_the_input_and_bicubic(trained) -> None:
    model_dir, held_out = trained
    model = RestorerModel(model_dir, "cpu")
    assert (model.size, model.template.name) == (64, "full-face")
    scores = held_out_scores(model, [load_crop(path, model.size) for path in held_out])
    print(
        {
            case: {k: (round(v.psnr, 2), round(v.ssim, 4)) for k, v in row.items()}
            for case, row in scores.items()
        }
    )
    noisy, small = scores["blur-noise-jpeg"], scores["down-x3"]
    assert noisy["restored"].psnr > noisy["degraded"].psnr
    assert noisy["restored"].ssim > noisy["degraded"].ssim
    assert small["restored"].psnr > small["bicubic"].psnr > small["nearest"].psnr
    assert small["restored"].ssim > small["bicubic"].ssim


def test_a_run_resumes_where_it_stopped(faceset_a: Path, tmp_path: Path) -> None:
    short = dataclasses.replace(SMALL, iterations=3, save_every=3)
    with RestorerTrainer(short, faceset_a, tmp_path / "model", device="cpu", tensorboard=False) as trainer:
        trainer.run()
        first = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    longer = dataclasses.replace(short, iterations=5)
    with RestorerTrainer(longer, faceset_a, tmp_path / "model", device="cpu", tensorboard=False) as trainer:
        assert trainer.iteration == 3
        assert all((trainer.net.state_dict()[k] == v).all() for k, v in first.items())
        report = trainer.run()
    assert (report.start_iteration, report.iteration) == (3, 5)
    wider = dataclasses.replace(longer, net=RestorerShape(width=12, blocks=2), iterations=6)
    with pytest.raises(Exception, match="another width, depth or crop"):
        RestorerTrainer(wider, faceset_a, tmp_path / "model", device="cpu", tensorboard=False)


def test_enhance_face_model_dir_runs_the_restorer_in_a_swap(trained, testdata: Path, photo) -> None:
    model_dir, _ = trained
    target = photo("face_frontal_a.jpg")
    outputs = []
    for steps in ((), (f"face={model_dir}:1",)):
        config = SwapConfig(enhance=EnhanceOptions(steps=steps, identity_threshold=0.0, device="cpu"))
        with SwapSession([[testdata / "face_frontal_b.jpg"]], config) as session:
            rendered = session.render_image(target)
            assert list(session.processors.names) == list(steps)
        outputs.append(rendered.image)
    plain, restored = outputs
    assert plain.shape == restored.shape
    changed = np.abs(plain.astype(int) - restored.astype(int)).max(axis=2) > 2
    assert 0.001 < changed.mean() < 0.5  # the face changed, the rest of the frame did not


def test_bad_input_is_one_sentence(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "faceforge",
            "train-restorer",
            str(tmp_path / "missing"),
            "-o",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "does not exist" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "m").exists()
