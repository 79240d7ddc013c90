"""Swapping a video: streamed decode → follow faces → swap in batches → streamed encode, audio kept.

Decoding and encoding run in their own threads (see ``faceforge.media.video``); this loop analyses
(see :mod:`faceforge.pipeline.stream`) and swaps a batch while a render thread composes the previous one.
Memory is bounded by the queue sizes and the batch, not by the video's length.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from faceforge.errors import NoFaceError
from faceforge.media.video import X264_SUFFIXES, VideoFrame, VideoWriter, probe_video
from faceforge.media.workers import ConsumerThread
from faceforge.pipeline.engine import SwapEngine, SwappedBatch
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.stream import assigned_batches, open_frames
from faceforge.progress import Progress


@dataclass(frozen=True, slots=True)
class VideoReport:
    frames: int
    frames_swapped: int  # frames where at least one face was swapped
    faces_swapped: int
    faces_declined: int = 0  # chosen faces the swapper would not swap well, left as they were
    frames_expected: int | None = None  # the count the target's header declares
    truncation: str | None = None  # one sentence when the target ended before that count


class _Renderer:
    """The render thread's work: compose a swapped batch, hand its frames to the encoder, count what
    happened.

    The caller's thread analyses and swaps batch N+1 while this one composes batch N; batches are
    composed and written in order. Swapping in the caller's thread rather than here balances the two:
    composing alone costs about as much CPU as analysis and swap together (docs/benchmarks.md).
    """

    def __init__(self, engine: SwapEngine, writer: VideoWriter) -> None:
        self.engine = engine
        self.writer = writer
        self.frames_swapped = self.faces_swapped = self.faces_declined = 0

    def __call__(self, job: tuple[list[VideoFrame], SwappedBatch]) -> None:
        frames, swapped = job
        for frame, rendered in zip(frames, self.engine.compose(swapped), strict=True):
            self.writer.write(replace(frame, image=rendered.image))
            self.frames_swapped += rendered.faces_swapped > 0
            self.faces_swapped += rendered.faces_swapped
            self.faces_declined += rendered.faces_declined


def swap_video_file(
    session: SwapSession, target: Path, output: Path, progress: Progress | None = None
) -> VideoReport:
    """Swap faces through a whole video into ``output`` (same frame count, timestamps and audio)."""
    video = session.config.video
    info = probe_video(target, video.max_pixels)
    scale = session.processors.scale  # a frame enhancer (upscaler) makes the frames larger
    writer = VideoWriter(
        output,
        replace(info, width=info.width * scale, height=info.height * scale),
        source_path=target,
        codec=video.codec if output.suffix.lower() in X264_SUFFIXES else None,
        crf=video.crf,
        preset=video.preset,
        tag=session.tag(),
    )
    frames = 0
    with writer:
        renderer = _Renderer(session.engine, writer)
        worker: ConsumerThread[tuple[list[VideoFrame], SwappedBatch]] = ConsumerThread(
            renderer, name="faceforge-render"
        )
        reader = open_frames(session, target)
        try:
            counted = _counted(reader, info.frame_count, progress)
            for batch, assignments in assigned_batches(session, counted):
                worker.put((batch, session.engine.swap([f.image for f in batch], assignments)))
                frames += len(batch)
            worker.join()
        finally:
            worker.stop()
            reader.close()
        if renderer.frames_swapped == 0 and renderer.faces_declined:
            raise NoFaceError(
                f"The swapper declined every face of {target} ({renderer.faces_declined} in all)."
            )
        if renderer.frames_swapped == 0:
            raise NoFaceError(f"No face to swap was found in any frame of {target}.")
    return VideoReport(
        frames=frames,
        frames_swapped=renderer.frames_swapped,
        faces_swapped=renderer.faces_swapped,
        faces_declined=renderer.faces_declined,
        frames_expected=reader.frames_expected,
        truncation=reader.truncation,
    )


def _counted(frames: Iterable[VideoFrame], total: int, progress: Progress | None) -> Iterator[VideoFrame]:
    """``frames``, reporting each one read to ``progress``."""
    for done, frame in enumerate(frames, start=1):
        yield frame
        if progress is not None:
            progress(done, total)
