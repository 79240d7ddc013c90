"""The tiny run settings of the one-shot tests (importable from spawned DDP ranks, unlike a conftest)."""

from __future__ import annotations

import dataclasses

from faceforge.nets.aeinet import AEINetConfig
from faceforge.training.oneshot.config import DiscriminatorConfig, OneshotConfig


def tiny_config(**changes: object) -> OneshotConfig:
    """Width-4 AEI-Net with one AAD block (c_id 128: dlib's), a small two-scale D, batch 2, no workers."""
    base = OneshotConfig(
        generator=AEINetConfig(width=4, num_blocks=1, c_id=128),
        discriminator=DiscriminatorConfig(ndf=8, n_layers=3, num_d=2),
        batch_size=2,
        iterations=4,
        save_every=2,
        snapshot_every=0,
        preview_every=0,
        workers=0,
        seed=1,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
