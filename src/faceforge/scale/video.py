"""Swapping one segment of a video on a worker, and joining the segments' parts into the final video.

A segment is swapped like a whole video (:func:`~faceforge.pipeline.stream.assigned_batches`: the same
follower, selector and batches), except that its frames start at the segment's keyframe: the face
follower therefore detects afresh at each segment's first frame, and smoothing starts anew there. The
result of a job is a function of the video and its segment cut points only: the same whether the segments
run on one machine, one after another, or on many workers (see docs/scale-out.md for what that implies).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from faceforge.media.provenance import read_tag
from faceforge.media.segments import Segment, join_segments, read_segment
from faceforge.media.video import X264_SUFFIXES, VideoWriter, probe_video
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.stream import assigned_batches
from faceforge.progress import Progress


def swap_segment(
    session: SwapSession, target: Path, segment: Segment, part: Path, progress: Progress | None = None
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
        frames = read_segment(target, segment, video.max_pixels)
        for batch, assignments in assigned_batches(session, frames):
            rendered = session.engine.apply([frame.image for frame in batch], assignments)
            for frame, result in zip(batch, rendered, strict=True):
                writer.write(replace(frame, image=result.image))
                counts["frames"] += 1
                counts["frames_swapped"] += result.faces_swapped > 0
                counts["faces_swapped"] += result.faces_swapped
                counts["faces_declined"] += result.faces_declined
            if progress is not None:
                progress(counts["frames"], segment.frames)
    return counts


def join_parts(target: Path, parts: list[Path], output: Path) -> int:
    """Join the swapped parts of ``target`` into ``output`` with ``target``'s audio; the frames written.
    The provenance tag is the parts' own (every part carries the run's tag)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    return join_segments(parts, output, target, probe_video(target).fps, read_tag(parts[0]))
