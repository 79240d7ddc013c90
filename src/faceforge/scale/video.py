"""Swapping one segment of a video on a worker, and joining the segments' parts into the final video.

A segment is swapped like a whole video (:func:`~faceforge.pipeline.stream.assigned_batches`: the same
follower, selector, compositor and batches) and starts at a scene cut (:mod:`faceforge.scale.cuts`),
where the video run's per-frame state starts afresh. To reach the cut in the state the plain run is in
there, it first *runs in*: it renders (without encoding) from at least the frame before the cut (so the
follower sees the cut), rounded down to a frame where the plain run starts both a detector key frame and
a batch, so the detector fires on the same absolute frame numbers and the batches hold the same frames;
and it renders on to the end of its last frame's batch (the run-out). Its rendered frames then equal the
plain run's bit for bit; the cost is at most ``lcm(detect_every, batch_size)`` (20 by default) plus
``batch_size - 1`` extra rendered frames per segment.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from math import lcm
from pathlib import Path
from typing import Any

from faceforge.media.provenance import read_tag
from faceforge.media.reader import VideoFrame
from faceforge.media.segments import Segment, frame_span, join_segments, read_segment
from faceforge.media.video import X264_SUFFIXES, VideoWriter, probe_video
from faceforge.pipeline.engine import RenderedFrame
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.stream import assigned_batches
from faceforge.progress import Progress

#: Frames rendered before each segment, before rounding down to a key frame and batch start: the frame
#: before the scene cut is all the follower needs to see the cut (measured in docs/scale-out.md,
#: "Segments equal the plain run").
RUN_IN_FRAMES = 1


def rendered_segment(
    session: SwapSession, target: Path, segment: Segment, run_in: int = RUN_IN_FRAMES
) -> Iterator[tuple[VideoFrame, RenderedFrame]]:
    """The frames of ``segment`` of ``target`` rendered as the plain video run renders them, once the
    run-in (``run_in`` frames before the segment, see the module's description) has been rendered and
    dropped; the run-out after the segment is rendered to complete the last batch and dropped too."""
    video = session.config.video
    batch = max(1, video.batch_size)
    align = lcm(max(1, video.detect_every), batch)
    start = max(0, (segment.first_frame - max(0, run_in)) // align * align)
    end = -(-(segment.first_frame + segment.frames) // batch) * batch
    span = frame_span(target, segment, start, end, video.max_pixels)
    last = segment.first_frame + segment.frames
    for frames, assignments in assigned_batches(session, read_segment(target, span, video.max_pixels)):
        rendered = session.engine.apply([frame.image for frame in frames], assignments)
        for frame, result in zip(frames, rendered, strict=True):
            if segment.first_frame <= frame.index < last:
                yield frame, result


def swap_segment(
    session: SwapSession,
    target: Path,
    segment: Segment,
    part: Path,
    progress: Progress | None = None,
    run_in: int = RUN_IN_FRAMES,
) -> dict[str, Any]:
    """Swap ``segment`` of ``target`` into the video file ``part`` (no audio: the join copies it once)."""
    video = session.config.video
    info = probe_video(target, video.max_pixels)
    counts = {"frames": 0, "frames_swapped": 0, "faces_swapped": 0, "faces_declined": 0}
    with VideoWriter(
        part,
        info,
        codec=video.codec if part.suffix.lower() in X264_SUFFIXES else None,
        crf=video.crf,
        preset=video.preset,
        tag=session.tag(),
    ) as writer:
        for frame, result in rendered_segment(session, target, segment, run_in):
            writer.write(replace(frame, image=result.image))
            counts["frames"] += 1
            counts["frames_swapped"] += result.faces_swapped > 0
            counts["faces_swapped"] += result.faces_swapped
            counts["faces_declined"] += result.faces_declined
            if progress is not None and (
                counts["frames"] % video.batch_size == 0 or counts["frames"] == segment.frames
            ):
                progress(counts["frames"], segment.frames)
    return counts


def join_parts(target: Path, parts: list[Path], output: Path, starts: Sequence[int]) -> int:
    """Join the swapped parts of ``target`` into ``output`` with ``target``'s audio, each part starting at
    its segment's first pts ``starts`` (``target``'s time base); the frames written. The provenance tag
    is the parts' own (every part carries the run's tag)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    info = probe_video(target)
    times = [pts * info.time_base for pts in starts]
    return join_segments(parts, output, target, info.fps, read_tag(parts[0]), times)
