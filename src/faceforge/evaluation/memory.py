"""Peak memory of the process while something runs, measured as resident set size (RSS).

RSS counts native allocations (MediaPipe, torch, codecs) that ``tracemalloc`` misses, so this is what a
memory test or a benchmark should read.
"""

from __future__ import annotations

import os
import threading


def rss_mb() -> float:
    """The process's resident memory now, in MiB (Linux); elsewhere its peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if os.uname().sysname == "Darwin" else peak / 2**10


class PeakMemory:
    """Samples the process's resident memory every ``interval`` seconds while open; ``peak_mb`` is the
    highest seen and ``start_mb`` the level on entry."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak_mb = self.start_mb = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faceforge-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, rss_mb())

    @property
    def growth_mb(self) -> float:
        """How far the peak rose above the level on entry."""
        return self.peak_mb - self.start_mb

    def __enter__(self) -> PeakMemory:
        self.start_mb = self.peak_mb = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, rss_mb())
