"""Swapping a video: streamed decode → follow faces → swap in batches → streamed encode, audio kept.

Decoding and encoding run in their own threads (see ``faceforge.media.video``); this loop analyses and
swaps. Faces are found by the detector every ``detect_every`` frames and followed from their own
landmarks in between, which is both faster and steadier; landmarks are smoothed over time and short
misses are bridged by the tracker, so the swapped face neither jitters nor flicks back to the original.
Memory is bounded by the queue sizes and the batch, not by the video's length.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from faceforge.analysis.following import FaceFollower
from faceforge.errors import NoFaceError
from faceforge.media.video import VideoFrame, VideoWriter, probe_video, read_frames
from faceforge.pipeline.engine import SwapEngine
from faceforge.pipeline.provenance import swap_tag
from faceforge.pipeline.selection import Assignment
from faceforge.pipeline.session import SwapSession
from faceforge.types import Face

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class VideoReport:
    frames: int
    frames_swapped: int
    faces_swapped: int
    frames_expected: int | None = None  # the count the target's header declares
    truncation: str | None = None  # one sentence when the target ended before that count


class _TrackSelector:
    """Selection that holds still across frames: a track keeps its decision until re-verified."""

    def __init__(self, session: SwapSession) -> None:
        self.session = session
        self.reverify_every = max(1, session.config.video.reverify_every)
        self._decisions: dict[int | None, tuple[int, int | None]] = {}  # track id -> (frame decided, source)
        self._largest: int | None = None

    def select(self, frame: VideoFrame, faces: list[Face]) -> list[Assignment]:
        selector = self.session.selector
        mode = selector.options.mode
        if mode == "reference":
            return self._by_reference(frame, faces)
        if mode == "largest":
            largest = self._choose_largest(faces)
            return [Assignment(f, 0) for f in faces if f.track_id == largest]
        return selector.select(faces)

    def _choose_largest(self, faces: list[Face]) -> int | None:
        """The largest face's track, held until another face grows clearly larger (no flip-flopping
        between two faces of about the same size)."""
        if not faces:
            return None
        biggest = max(faces, key=lambda f: f.size)
        current = next((f for f in faces if f.track_id == self._largest), None)
        if current is None or biggest.size > 1.25 * current.size:
            self._largest = biggest.track_id
        return self._largest

    def _by_reference(self, frame: VideoFrame, faces: list[Face]) -> list[Assignment]:
        due = [
            f
            for f in faces
            if f.track_id not in self._decisions
            or frame.index - self._decisions[f.track_id][0] >= self.reverify_every
        ]
        if due:
            for face in self.session.analyser.embed(frame.image, due):
                match = self.session.selector.match(face)
                self._decisions[face.track_id] = (frame.index, match.source if match else None)
        sources = [self._decisions.get(face.track_id, (0, None))[1] for face in faces]
        return [
            Assignment(face, source)
            for face, source in zip(faces, sources, strict=True)
            if source is not None
        ]


def swap_video_file(
    session: SwapSession, target: Path, output: Path, progress: Progress | None = None
) -> VideoReport:
    """Swap faces through a whole video into ``output`` (same frame count, timestamps and audio)."""
    video = session.config.video
    info = probe_video(target, video.max_pixels)
    follower = FaceFollower(session.analyser, session.config.tracking, session.config.video.detect_every)
    selection = _TrackSelector(session)
    batch_frames: list[VideoFrame] = []
    batch_assignments: list[list[Assignment]] = []
    frames = frames_swapped = faces_swapped = 0

    writer = VideoWriter(
        output,
        info,
        source_path=target,
        codec=video.codec if output.suffix.lower() in (".mp4", ".mov", ".mkv") else None,
        crf=video.crf,
        preset=video.preset,
        tag=swap_tag(session.config.swapper),
    )
    with writer, closing(follower):
        worker = _SwapWriter(session.engine, writer)
        try:
            reader = read_frames(target, max_pixels=video.max_pixels, strict=video.strict)
            for frame in reader:
                assignments = selection.select(frame, follower.faces(frame.image, frame.time))
                batch_frames.append(frame)
                batch_assignments.append(assignments)
                frames += 1
                frames_swapped += bool(assignments)
                faces_swapped += len(assignments)
                if len(batch_frames) >= video.batch_size:
                    worker.submit(batch_frames, batch_assignments)
                    batch_frames, batch_assignments = [], []
                if progress is not None:
                    progress(frames, info.frame_count)
            if batch_frames:
                worker.submit(batch_frames, batch_assignments)
            worker.finish()
        finally:
            worker.stop()
        if frames_swapped == 0:
            raise NoFaceError(f"No face to swap was found in any frame of {target}.")
    return VideoReport(
        frames=frames,
        frames_swapped=frames_swapped,
        faces_swapped=faces_swapped,
        frames_expected=reader.frames_expected,
        truncation=reader.truncation,
    )


_DONE = object()


class _SwapWriter:
    """Swaps, composes and queues for encoding, batch after batch, in a thread of its own.

    The caller's thread analyses frame N+1 (mostly waiting on MediaPipe's graphs, which release the
    GIL) while this one swaps and composes frame N. At most ``queue_size`` batches wait, so memory stays
    bounded; batches are written in the order submitted. An error here is raised in the caller's thread
    at its next :meth:`submit` or at :meth:`finish`.
    """

    def __init__(self, engine: SwapEngine, writer: VideoWriter, queue_size: int = 1) -> None:
        self.engine = engine
        self.writer = writer
        self.jobs: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self.error: BaseException | None = None
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._run, name="faceforge-swap", daemon=True)
        self.thread.start()

    def submit(self, frames: list[VideoFrame], assignments: list[list[Assignment]]) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put((frames, assignments))

    def finish(self) -> None:
        """Wait until every submitted batch is written to the writer; raise the thread's error if any."""
        if self.thread.is_alive():
            self.jobs.put(_DONE)
            self.thread.join()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Drop what is still queued and end the thread (after an error in the caller); idempotent."""
        if self.thread.is_alive():
            self.cancelled.set()
            self.jobs.put(_DONE)
            self.thread.join()

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is _DONE:
                return
            if self.error is not None or self.cancelled.is_set():
                continue  # keep draining so the caller never blocks on a full queue
            frames, assignments = job
            try:
                images = self.engine.apply([f.image for f in frames], assignments)
                for frame, image in zip(frames, images, strict=True):
                    self.writer.write(replace(frame, image=image))
            except BaseException as exc:  # handed to the caller's thread
                self.error = exc
