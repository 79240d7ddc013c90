"""Live swapping: a camera, file or stream URL in, swapped frames out as they come, never falling behind.

A reader thread grabs frames as the source delivers them (a file is paced at its own frame rate, as a
camera would deliver it) into a one-frame slot; the swap loop always takes the newest frame. When the
swap is slower than the source, frames waiting in the slot are replaced and counted as dropped, so the
output lags by at most one frame's work instead of by a growing queue. Faces go through the video
path's own tracker and smoothing (:func:`faceforge.pipeline.stream.assigned_batches`, one frame per
batch), so a live swap behaves like a video run, minus the frames it could not keep up with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Protocol

import numpy as np

from faceforge.media.video import VideoFrame
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.stream import assigned_batches

MILLISECONDS = Fraction(1, 1000)


@dataclass(frozen=True, slots=True)
class Captured:
    """A frame as the reader got it: its number in the source and when it arrived (perf_counter)."""

    index: int
    arrived: float
    image: np.ndarray


class LatestFrame:
    """A one-frame slot between the reader and the swap loop: a new frame replaces one not yet taken."""

    def __init__(self) -> None:
        self._frame: Captured | None = None
        self._closed = False
        self._ready = threading.Condition()

    def put(self, frame: Captured) -> bool:
        """Offer a frame; True when it replaced one the swap loop never took (a dropped frame)."""
        with self._ready:
            replaced = self._frame is not None
            self._frame = frame
            self._ready.notify()
            return replaced

    def close(self) -> None:
        """No more frames: :meth:`take` returns what is left, then None."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def take(self) -> Captured | None:
        """The newest frame, waiting for one; None once closed and empty."""
        with self._ready:
            self._ready.wait_for(lambda: self._frame is not None or self._closed)
            frame, self._frame = self._frame, None
            return frame


class LiveInput(Protocol):
    """Where live frames come from: a camera, file or stream (:class:`~faceforge.live.sources.FrameSource`)
    or frames pushed by the UI (:class:`~faceforge.live.feed.PushedFrames`)."""

    def frames(self, stop: threading.Event) -> Iterator[np.ndarray]:
        """Frames as uint8 RGB as they arrive, until the input ends or ``stop`` is set."""
        ...


class FrameSink(Protocol):
    """Where swapped frames go: a window, a file or a stream."""

    def write(self, image: np.ndarray, time_ms: int) -> None: ...

    def close(self) -> None:
        """Finish the output (a file is renamed into place)."""
        ...

    def abort(self) -> None:
        """Drop the output (a file never appears)."""
        ...

    @property
    def stopped(self) -> bool:
        """True when the viewer asked to stop (a window closed with q or Esc)."""
        ...


@dataclass
class LiveStats:
    """What a live run did: every frame read is either swapped and written or dropped."""

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    faces_swapped: int = 0
    latencies_ms: list[float] = field(default_factory=list)  # arrival to written, per frame out

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def summary(self) -> str:
        return (
            f"{self.frames_in} frames in, {self.frames_out} swapped and written, {self.dropped} dropped; "
            f"latency median {self.percentile(50):.0f} ms, p95 {self.percentile(95):.0f} ms."
        )


def _read(source: LiveInput, slot: LatestFrame, stats: LiveStats, stop: threading.Event) -> None:
    try:
        for image in source.frames(stop):
            frame = Captured(stats.frames_in, time.perf_counter(), image)
            stats.frames_in += 1
            stats.dropped += slot.put(frame)
    finally:
        slot.close()


def _draw_meter(image: np.ndarray, fps: float, latency_ms: float) -> np.ndarray:
    """The current output rate and latency in the top-left corner (on a copy)."""
    import cv2

    shown = image.copy()
    text = f"{fps:4.1f} fps  {latency_ms:4.0f} ms"
    scale = max(0.5, image.shape[0] / 720)
    origin = (10, int(30 * scale))
    cv2.putText(shown, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), int(4 * scale), cv2.LINE_AA)
    cv2.putText(
        shown, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 0), int(2 * scale), cv2.LINE_AA
    )
    return shown


def run_live(session: SwapSession, source: LiveInput, sink: FrameSink, meter: bool = True) -> LiveStats:
    """Swap ``source`` into ``sink`` until the source ends or the sink is stopped; the run's counts.

    The session's video options apply, except that each frame is its own batch (waiting for a batch
    would add its length to the latency).
    """
    session.config = replace(session.config, video=replace(session.config.video, batch_size=1))
    stats = LiveStats()
    slot = LatestFrame()
    stop = threading.Event()
    arrivals: dict[int, float] = {}
    reader = threading.Thread(target=_read, args=(source, slot, stats, stop), name="faceforge-live-read")
    started = time.perf_counter()

    def frames() -> Iterator[VideoFrame]:
        while not sink.stopped and (captured := slot.take()) is not None:
            arrivals[captured.index] = captured.arrived
            elapsed_ms = round((captured.arrived - started) * 1000)
            yield VideoFrame(captured.index, elapsed_ms, MILLISECONDS, captured.image)

    reader.start()
    recent: list[float] = []  # when the last frames were written, for the rate shown
    latency_ms = 0.0
    try:
        for batch, assignments in assigned_batches(session, frames()):
            rendered = session.engine.apply([f.image for f in batch], assignments)
            for frame, result in zip(batch, rendered, strict=True):
                fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
                sink.write(_draw_meter(result.image, fps, latency_ms) if meter else result.image, frame.pts)
                written = time.perf_counter()
                latency_ms = (written - arrivals.pop(frame.index)) * 1000
                recent = [*recent[-29:], written]
                stats.frames_out += 1
                stats.faces_swapped += result.faces_swapped
                stats.latencies_ms.append(latency_ms)
    except BaseException:
        sink.abort()
        raise
    else:
        sink.close()
    finally:
        stop.set()
        slot.close()
        reader.join()
    # Frames taken but never rendered, or left in the slot, when the sink stopped the run.
    stats.dropped += len(arrivals) + (slot.take() is not None)
    return stats
