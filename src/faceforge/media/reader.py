"""Streaming video input: frames decoded ahead in a background thread, checked against the header.

At most ``queue_size`` decoded frames wait in memory. When the stream ends, the number of frames decoded
is compared with the count the container declares: a file cut short (a download or copy that stopped,
with its index written at the start) decodes fewer, which :class:`VideoReader` reports in
:attr:`~VideoReader.truncation` or, with ``strict``, raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from faceforge.errors import InputError
from faceforge.media.limits import DEFAULT_MAX_PIXELS
from faceforge.media.probe import fraction, open_input, quarter_turns
from faceforge.media.workers import iterate_in_thread


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame: its position, its timestamp in the stream's time base and its RGB pixels."""

    index: int
    pts: int
    time_base: Fraction
    image: np.ndarray  # uint8 RGB HxWx3

    @property
    def time(self) -> float:
        """Presentation time in seconds."""
        return float(self.pts * self.time_base)


class VideoReader(Iterator[VideoFrame]):
    """The frames of one video file in display order; use :func:`read_frames` to make one.

    Closing it early (``break`` out of a ``for``, :meth:`close`, garbage collection) stops the decoder
    thread and closes the file. Once the frames are exhausted, :attr:`frames_read`,
    :attr:`frames_expected` and :attr:`truncation` say whether the file held every declared frame.
    """

    def __init__(self, path: Path, queue_size: int, max_pixels: int, strict: bool) -> None:
        self.path = Path(path)
        self.strict = strict
        self.frames_read = 0
        # The decoder thread references only this header, never the reader, so dropping the reader
        # (garbage collection) closes the frame generator, which stops the thread.
        self._header = header = _Header()
        file = self.path
        self._frames = iterate_in_thread(
            lambda: _decode(file, max_pixels, header), queue_size, "faceforge-decode"
        )

    @property
    def frames_expected(self) -> int | None:
        """The frame count the container's header declares; None where it declares none."""
        return self._header.frames

    @property
    def truncated(self) -> bool:
        """True when fewer frames were decoded than the header declares (meaningful once exhausted)."""
        return self.frames_expected is not None and self.frames_read < self.frames_expected

    @property
    def truncation(self) -> str | None:
        """One sentence saying the file is cut short, or None when it is complete."""
        if not self.truncated:
            return None
        return (
            f"{self.path} is truncated: its header declares {self.frames_expected} frames but only "
            f"{self.frames_read} could be decoded."
        )

    def __next__(self) -> VideoFrame:
        try:
            frame = next(self._frames)
        except StopIteration:
            if self.strict and self.truncation is not None:
                raise InputError(f"Cannot read {self.truncation}") from None
            raise
        self.frames_read += 1
        return frame

    def close(self) -> None:
        """Stop decoding and close the file; safe to call at any time, more than once."""
        self._frames.close()


@dataclass(slots=True)
class _Header:
    frames: int | None = None


def _decode(path: Path, max_pixels: int, header: _Header) -> Iterator[VideoFrame]:
    """Runs in the decoder thread: the frames, upright and at the stream's size; closes the file."""
    container = open_input(path, max_pixels)
    index = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        header.frames = stream.frames or None
        time_base = fraction(stream.time_base) or Fraction(1, 90_000)
        rate = fraction(stream.average_rate) or fraction(stream.guessed_rate) or Fraction(25)
        step = max(1, round(1 / (rate * time_base)))
        width, height = stream.codec_context.width, stream.codec_context.height
        last_pts: int | None = None
        for frame in container.decode(stream):
            pts = frame.pts
            if pts is None:  # some containers (raw streams, AVI) leave pts unset: continue the cadence
                pts = 0 if last_pts is None else last_pts + step
            # Reformat to the stream's size, so a mid-stream resolution change cannot break the
            # caller, then turn upright as the display matrix says (players do; faces are found only
            # upright).
            image: np.ndarray = frame.to_ndarray(format="rgb24", width=width, height=height)
            turns = quarter_turns(frame.rotation)
            if turns:
                image = np.ascontiguousarray(np.rot90(image, k=turns))
            yield VideoFrame(index, pts, time_base, image)
            last_pts = pts
            index += 1
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"Cannot decode {path}: the video data is corrupt at frame {index}.") from exc
    finally:
        container.close()


def read_frames(
    path: Path, queue_size: int = 8, *, max_pixels: int = DEFAULT_MAX_PIXELS, strict: bool = False
) -> VideoReader:
    """The frames of ``path`` in display order, decoded ahead in a background thread.

    At most ``queue_size`` decoded frames wait in memory. A picture over ``max_pixels`` is refused
    before decoding; with ``strict``, a file that ends before its declared frame count raises
    InputError at the end instead of only reporting it in :attr:`VideoReader.truncation`.
    """
    return VideoReader(path, queue_size, max_pixels, strict)
