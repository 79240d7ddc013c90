"""Knowledge distillation: a lighter AEI-Net (fewer AAD blocks, smaller width) learns a trained one's output.

The teacher is a frozen generator in eval mode: an official GHOST ``G_*.pth`` (a file or a catalog name,
read without unpickling objects), or the latest save of a ``faceforge train-oneshot`` folder. For every
training pair it swaps the same target with the same source embedding as the student, and the student is
pulled towards it by two terms (:mod:`faceforge.training.oneshot.losses`): the mean squared difference of
the two outputs, and a perceptual term, the attribute-loss form over the **teacher's own attribute
encoder** applied to both outputs. That encoder is the multi-scale feature extractor the teacher was
trained to preserve (2x2 to 256x256: layout, pose, expression, lighting), it exists for every teacher, and
needs nothing beyond the teacher's file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from faceforge.errors import InputError
from faceforge.models.oneshot import is_oneshot_folder, load_oneshot_generator
from faceforge.nets.aeinet import AEINet, aeinet_config_from_state_dict
from faceforge.training.oneshot.losses import attribute_loss, distillation_loss


def load_teacher(spec: str) -> tuple[AEINet, dict[str, Any] | None]:
    """The frozen teacher ``spec`` names, and the identity section of its folder (None for a weight file,
    which does not say which encoder made its embeddings; GHOST's files used ArcFace's 512-d ones)."""
    path = Path(spec)
    if path.is_dir():
        if not is_oneshot_folder(path):
            raise InputError(f"The teacher folder {path} is not a one-shot model folder.")
        model, identity = load_oneshot_generator(path)
    else:
        from faceforge.weights import load_state_dict, resolve_weights

        state = load_state_dict(resolve_weights(spec))
        model = AEINet(aeinet_config_from_state_dict(state))
        model.load_state_dict(state, strict=True)
        identity = None
    return model.eval().requires_grad_(False), identity


def check_teacher(teacher: AEINet, identity: dict[str, Any] | None, encoder: str, dim: int) -> None:
    """Refuse a teacher that takes identity vectors other than the student's encoder gives: of another
    size, or (for a train-oneshot folder, which records it) from another encoder."""
    if teacher.config.c_id != dim:
        raise InputError(
            f"The teacher takes {teacher.config.c_id}-d identity vectors but the {encoder} encoder gives "
            f"{dim}-d ones; train the student with the encoder the teacher was trained with."
        )
    if identity is not None and identity.get("encoder") != encoder:
        raise InputError(
            f"The teacher was trained on {identity.get('encoder')} identities; train the student with "
            f"--identity-net {identity.get('encoder')} so both see the same embeddings."
        )


def distillation_terms(
    teacher: AEINet, student_output: Tensor, target: Tensor, z_id: Tensor
) -> dict[str, Tensor]:
    """``distill`` (output MSE) and ``distill_features`` (teacher-encoder feature distance) for one batch."""
    with torch.no_grad():
        wanted, _ = teacher(target, z_id)
        wanted_features = teacher.get_attr(wanted)
    return {
        "distill": distillation_loss(student_output, wanted),
        "distill_features": attribute_loss(wanted_features, teacher.get_attr(student_output)),
    }
