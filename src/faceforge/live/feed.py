"""Frames pushed in from outside (the browser's webcam, one frame per streaming event) as a live
source, and a sink that keeps the newest swapped frame for the caller to show."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numpy as np

_POLL_S = 0.1  # how often a waiting reader looks at the stop flag


class PushedFrames:
    """A live source fed by :meth:`push`; :meth:`end` finishes it. The run's reader moves each frame
    into the latest-frame slot at once, so frames the swap cannot keep up with are dropped (and
    counted) there, as with a camera."""

    fps = 0.0  # set by whoever pushes; nothing here paces frames

    def __init__(self) -> None:
        self._frames: queue.SimpleQueue[np.ndarray | None] = queue.SimpleQueue()

    def push(self, image: np.ndarray) -> None:
        self._frames.put(image)

    def end(self) -> None:
        self._frames.put(None)

    def frames(self, stop: threading.Event) -> Iterator[np.ndarray]:
        while not stop.is_set():
            try:
                image = self._frames.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if image is None:
                return
            yield image


class LatestOutput:
    """A sink that keeps only the newest frame written (and how many were)."""

    stopped = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._image: np.ndarray | None = None
        self.written = 0

    def write(self, image: np.ndarray, time_ms: int) -> None:
        with self._lock:
            self._image = image
            self.written += 1

    def latest(self) -> np.ndarray | None:
        with self._lock:
            return self._image

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass
