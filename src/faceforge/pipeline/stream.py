"""Frames of one video to the batches the engine renders: the one path of the video run and its preview.

Faces are found by the detector every ``detect_every`` frames and followed from their own landmarks in
between (faster and steadier); landmarks are smoothed over time and short misses are bridged, and the
stream's own :class:`~faceforge.pipeline.selection.FaceSelector` holds each track's selection still.
All of that is state carried from frame to frame, so frame N of a video can only be rendered exactly as
the video run renders it by walking the same frames from the start, in the same batches: which is what
both the video run and :func:`preview_frame` do, through :func:`assigned_batches`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from faceforge.analysis.following import FaceFollower
from faceforge.errors import InputError
from faceforge.media.video import VideoFrame, VideoReader, read_frames
from faceforge.pipeline.engine import RenderedFrame
from faceforge.pipeline.selection import Assignment

if TYPE_CHECKING:
    from faceforge.pipeline.session import SwapSession

Batch = tuple[list[VideoFrame], list[list[Assignment]]]


def assigned_batches(session: SwapSession, frames: Iterable[VideoFrame]) -> Iterator[Batch]:
    """``frames`` in batches of ``video.batch_size``, each frame with the faces chosen in it.

    A fresh follower and selector serve the stream: nothing is carried over from another video.
    """
    config = session.config
    session.compositor.reset()  # per-track mask state belongs to one stream
    follower = FaceFollower(session.analyser, config.tracking, config.video.detect_every)
    selector = session.selector.fresh()
    size = max(1, config.video.batch_size)
    with closing(follower):
        batch: Batch = ([], [])
        for frame in frames:
            faces = follower.faces(frame.image, frame.time)
            batch[0].append(frame)
            batch[1].append(selector.select(faces, frame.image, frame.index))
            if len(batch[0]) >= size:
                yield batch
                batch = ([], [])
        if batch[0]:
            yield batch


def open_frames(session: SwapSession, target: Path) -> VideoReader:
    """The decoded frames of ``target`` under the run's limits (pixel count, strict frame count)."""
    video = session.config.video
    return read_frames(target, max_pixels=video.max_pixels, strict=video.strict)


def preview_frame(session: SwapSession, target: Path, index: int) -> RenderedFrame:
    """Frame ``index`` of the video ``target`` exactly as :func:`~faceforge.pipeline.video.swap_video_file`
    renders it (before encoding). Every frame up to the end of that frame's batch is analysed and
    rendered, as the video run does; nothing is encoded."""
    if index < 0:
        raise InputError(f"Frame numbers start at 0, not {index}.")
    with closing(open_frames(session, target)) as frames:
        count = 0
        for batch, assignments in assigned_batches(session, frames):
            rendered = session.engine.apply([f.image for f in batch], assignments)
            for frame, result in zip(batch, rendered, strict=True):
                if frame.index == index:
                    return result
            count += len(batch)
    raise InputError(f"{target} has no frame {index}: it has {count} frames.")
