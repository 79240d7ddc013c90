"""The swapper contract: four members, so a new swapper is one new file plus a registry line; and the
checks of their inputs that swappers share."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from faceforge.errors import InputError
from faceforge.geometry.alignment import Template
from faceforge.types import AlignedFace, SourceIdentity, SwapResult


class Swapper(Protocol):
    """Puts a source person's face into aligned target crops.

    ``prepare_source`` runs once per run (it may be slow); ``swap`` runs on batches of target crops
    aligned to ``template`` at ``crop_size`` and returns one result per crop. ``needs_source`` is false for
    a swapper that puts in a face of its own (a trained pair model): it takes no source photos, and its
    ``prepare_source`` is called with None. ``close`` releases the swapper's models (and the GPU memory
    they hold); the swapper is not used afterwards.
    """

    name: str
    crop_size: int
    template: Template
    needs_source: bool

    def prepare_source(self, source: SourceIdentity) -> object: ...

    def swap(self, targets: Sequence[AlignedFace], prepared: object) -> list[SwapResult]: ...

    def close(self) -> None: ...


def release_models(owner: object, *attributes: str) -> None:
    """Drop ``owner``'s references to its models so their memory can be freed, and give PyTorch's cached
    GPU memory back when CUDA was used; safe to call twice. Torch is never imported here."""
    for name in attributes:
        vars(owner).pop(name, None)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        gc.collect()  # the models' tensors are freed only once nothing refers to them
        torch.cuda.empty_cache()


def require_views(source: SourceIdentity) -> None:
    """Refuse a source without a photo to take the identity from."""
    if not source.views:
        raise InputError(f"The {source.name} has no photo to take the identity from.")


def stacked_crops(targets: Sequence[AlignedFace], crop_size: int) -> np.ndarray:
    """The targets' aligned crops as one ``(n, crop_size, crop_size, 3)`` uint8 batch; a crop of another
    size is refused (a swapper runs on crops aligned at its own size)."""
    for target in targets:
        if target.image.shape != (crop_size, crop_size, 3):
            raise ValueError(f"Expected {crop_size}-px RGB aligned crops, got {target.image.shape}.")
    return np.stack([target.image for target in targets])
