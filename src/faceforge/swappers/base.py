"""The swapper contract: four members, so a new swapper is one new file plus a registry line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from faceforge.geometry.alignment import Template
from faceforge.types import AlignedFace, SourceIdentity, SwapResult


class Swapper(Protocol):
    """Puts a source person's face into aligned target crops.

    ``prepare_source`` runs once per run (it may be slow); ``swap`` runs on batches of target crops
    aligned to ``template`` at ``crop_size`` and returns one result per crop.
    """

    name: str
    crop_size: int
    template: Template

    def prepare_source(self, source: SourceIdentity) -> object: ...

    def swap(self, targets: Sequence[AlignedFace], prepared: object) -> list[SwapResult]: ...
