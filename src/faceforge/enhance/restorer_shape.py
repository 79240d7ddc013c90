"""The restorer network's shape: a torch-free leaf, so the training CLI's ``--help`` loads no torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class RestorerShape:
    width: int = 32  # full-resolution channels (the body has twice as many)
    blocks: int = 4  # residual blocks at half resolution

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
