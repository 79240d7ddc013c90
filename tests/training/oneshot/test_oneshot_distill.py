"""Distillation: a lighter student moves towards a frozen teacher; teachers come from weight files or
train-oneshot folders and must share the student's identity embeddings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from faceforge.errors import InputError
from faceforge.nets.aeinet import AEINet, AEINetConfig, init_aeinet
from faceforge.training.oneshot.config import LossWeights
from faceforge.training.oneshot.distill import check_teacher, load_teacher
from faceforge.training.oneshot.trainer import OneshotTrainer

TEACHER = AEINetConfig(width=4, num_blocks=2, c_id=128)
STUDENT = AEINetConfig(width=2, num_blocks=1, c_id=128)


@pytest.fixture
def teacher_file(tmp_path):
    torch.manual_seed(5)
    teacher = AEINet(TEACHER)
    init_aeinet(teacher)
    path = tmp_path / "G_teacher.safetensors"
    save_file({k: v.contiguous() for k, v in teacher.state_dict().items()}, str(path))
    return path


@pytest.mark.slow
def test_distillation_lowers_the_student_teacher_distance(oneshot_dataset, tiny, teacher_file, tmp_path):
    # The student (half the width, one AAD block instead of two) learns only from the teacher here: every
    # GHOST term is off.
    only_teacher = LossWeights(adv=0, attr=0, id=0, rec=0, eyes=0)
    optimiser = dataclasses.replace(tiny().optimiser, lr=1e-3)
    config = tiny(generator=STUDENT, teacher=str(teacher_file), losses=only_teacher, optimiser=optimiser)
    trainer = OneshotTrainer(config, oneshot_dataset, tmp_path / "student", device="cpu", tensorboard=False)
    assert trainer.teacher is not None and not trainer.teacher.training
    assert trainer.generator.config.width < trainer.teacher.config.width
    history = [trainer.train_step() for _ in range(12)]
    assert all(set(h) == {"total", "distill", "distill_features"} for h in history)  # no D without adv

    def drop(term: str) -> float:
        return float(np.mean([h[term] for h in history[-4:]]) / np.mean([h[term] for h in history[:4]]))

    # Seeded: the output distance falls to ~0.5 of its start, the feature distance (noisier) to ~0.75.
    assert drop("distill") < 0.7 and drop("distill_features") < 0.9 and drop("total") < 0.7
    assert all(not p.requires_grad for p in trainer.teacher.parameters())


def test_teachers_load_from_files_and_folders(oneshot_dataset, tiny, teacher_file, tmp_path):
    teacher, identity = load_teacher(str(teacher_file))
    assert teacher.config == TEACHER and identity is None and not teacher.training
    folder = tmp_path / "trained"
    OneshotTrainer(tiny(iterations=1, save_every=1, losses=LossWeights(adv=0, id=0)), oneshot_dataset, folder,
                   device="cpu", tensorboard=False).run()  # fmt: skip
    teacher, identity = load_teacher(str(folder))
    assert teacher.config == tiny().generator and identity is not None and identity["encoder"] == "dlib"
    with pytest.raises(InputError, match="not a one-shot model folder"):
        load_teacher(str(tmp_path))


def test_a_teacher_with_other_identity_embeddings_is_refused():
    dlib_teacher = AEINet(AEINetConfig(width=4, num_blocks=1, c_id=128))
    check_teacher(dlib_teacher, {"encoder": "dlib", "dim": 128}, "dlib", 128)
    check_teacher(dlib_teacher, None, "dlib", 128)  # a weight file: only the size is known
    with pytest.raises(InputError, match="--identity-net dlib"):
        check_teacher(dlib_teacher, {"encoder": "dlib", "dim": 128}, "arcface", 128)
    # GHOST's own files take ArcFace's 512-d vectors.
    ghost_like = AEINet(AEINetConfig(width=4, num_blocks=1, c_id=512))
    with pytest.raises(InputError, match="takes 512-d identity vectors but the dlib encoder gives 128-d"):
        check_teacher(ghost_like, None, "dlib", 128)
