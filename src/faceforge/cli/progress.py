"""Rich progress bars with rate and ETA, handed to the pipeline (or a download) as a plain callback
``update(done, total)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

#: ``update(done, total)``; a total of None or 0 means not known yet.
Update = Callable[[int, int | None], None]


class RateColumn(ProgressColumn):
    """Items per second (frames per second for videos)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(
            f"{speed:5.1f} {self.unit}/s" if speed else f"  ... {self.unit}/s", style="progress.data.speed"
        )


def progress_bar(label: str, unit: str, enabled: bool = True) -> AbstractContextManager[Update | None]:
    """A bar of counted items (``unit``: what they are, for the rate), or None when not ``enabled``."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        RateColumn(unit),
        TimeRemainingColumn(),
    )
    return _bar(label, columns, enabled)


def byte_progress(label: str, enabled: bool = True) -> AbstractContextManager[Update | None]:
    """A bar of bytes (size done, transfer speed), or None when not ``enabled``."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    return _bar(label, columns, enabled)


@contextmanager
def _bar(label: str, columns: tuple[ProgressColumn, ...], enabled: bool) -> Iterator[Update | None]:
    """The bar is drawn at the first update, so a run that fails while checking its inputs (a missing
    file, a bad option) shows its one sentence and no empty ``0/? ... frames/s`` bar before it."""
    if not enabled:
        yield None
        return
    bar = Progress(*columns, transient=False)
    task = bar.add_task(label, total=None)

    def update(done: int, total: int | None) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total or None)

    try:
        yield update
    finally:
        if bar.live.is_started:
            bar.stop()
