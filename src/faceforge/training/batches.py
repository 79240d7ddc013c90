"""Endless, resumable batches for the training loop (the loader's position is part of a saved run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch import Tensor
from torch.utils.data import DataLoader

from faceforge.errors import InputError


def safe_workers(loader: DataLoader) -> DataLoader:
    """Start the loader's workers from a clean server process (forkserver) where the platform has one:
    forking a process that already runs other native thread pools (MediaPipe, OpenMP) can deadlock the
    child."""
    import multiprocessing

    if loader.num_workers > 0 and "forkserver" in multiprocessing.get_all_start_methods():
        loader.multiprocessing_context = "forkserver"
    return loader


class BatchStream:
    """Endless batches from a loader made by :func:`~faceforge.training.data.make_loader`, with a resumable
    position.

    The position is ``(epoch, batch)``: the batches already taken from that epoch. The loader's sampler
    is set to the epoch before each pass; since the dataset's randomness is a function of the seed and
    the sample index, resuming a position mid-epoch (the rest of that epoch's index list, then the
    following epochs) yields exactly the batches an uninterrupted run would have seen.
    """

    def __init__(self, loader: DataLoader, epoch: int = 0, batch: int = 0) -> None:
        self.loader, self.epoch, self.batch = loader, epoch, batch
        self._iterator: Iterator[Any] | None = None

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batch": self.batch}

    def _start_pass(self) -> Iterator[Any]:
        sampler = self.loader.sampler
        sampler.set_epoch(self.epoch)  # type: ignore[attr-defined]
        if self.batch == 0:
            return iter(self.loader)
        # Resume mid-epoch: the rest of this epoch's indices, without loading the ones already used.
        indices = list(iter(sampler))[self.batch * self.loader.batch_size :]  # type: ignore[operator]
        loader = self.loader
        partial = safe_workers(
            DataLoader(
                loader.dataset,
                batch_size=loader.batch_size,
                sampler=indices,
                num_workers=loader.num_workers,
                collate_fn=loader.collate_fn,
                pin_memory=loader.pin_memory,
                drop_last=loader.drop_last,
                worker_init_fn=loader.worker_init_fn,
            )
        )
        return iter(partial)

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> dict[str, Tensor]:
        for _ in range(2):
            if self._iterator is None:
                self._iterator = self._start_pass()
            try:
                item = next(self._iterator)
            except StopIteration:
                self._iterator = None
                self.epoch, self.batch = self.epoch + 1, 0
                continue
            self.batch += 1
            return item
        raise InputError("The data yields no full batch; lower the batch size.")
