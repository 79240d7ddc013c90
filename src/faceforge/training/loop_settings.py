"""What the shared training loop reads from a trainer's configuration."""

from __future__ import annotations

from typing import Protocol

from faceforge.training.optim import OptimiserConfig


class LoopSettings(Protocol):
    """The run-level options :meth:`~faceforge.training.loop.LoopTrainer.run` reads from a trainer's
    configuration, and the optimiser settings whose name a saved training state records. Read-only, so
    the frozen configuration dataclasses match it."""

    @property
    def iterations(self) -> int: ...

    @property
    def save_every(self) -> int: ...

    @property
    def snapshot_every(self) -> int: ...

    @property
    def keep_snapshots(self) -> int: ...

    @property
    def preview_every(self) -> int: ...

    @property
    def log_every(self) -> int: ...

    @property
    def amp(self) -> str: ...

    @property
    def optimiser(self) -> OptimiserConfig: ...
