"""Where a batch job cuts a video into segments: at scene cuts (the default), the only frames where the
video run's per-frame state starts afresh, or at keyframes.

The video run carries state from frame to frame (the tracker's smoothing, FaceMesh's tracking graphs
whose crop follows their own last landmarks, the selector's memory, the compositor's per-track
averages). Started anywhere else, a segment's landmarks do not converge to the plain run's: on
talking_audio_3s.mp4 cut at its keyframe 45, they still differed by 0.2-0.7 px 45 frames later and
every rendered frame differed (0.11 grey levels mean), even after a 25-frame run-in. At a scene cut the
follower drops every track and graph (:class:`~faceforge.analysis.following.SceneCutDetector`, the same
detector with the same threshold), so from that frame on the state is a function of the frames from the
cut only, and a segment that starts there (after the short run-in of
:func:`~faceforge.scale.video.rendered_segment`) renders every frame as the plain run does, bit for bit.
A video without a scene cut is therefore one segment, whatever length is asked.

Cut at keyframes instead (``CutKind.keyframes``, :func:`keyframe_segments`), a single-shot video becomes
several segments too, at the price of rendered pixels that differ slightly from the plain run's after
each cut (FaceMesh's tracking state cannot be carried over); each such segment runs in from
:data:`KEYFRAME_RUN_IN` frames before its cut. Frame count, timestamps and audio stay exact either way
(docs/scale-out.md, "Scene cuts or keyframes").
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from faceforge.analysis.following import SceneCutDetector
from faceforge.errors import InputError
from faceforge.media.limits import DEFAULT_MAX_PIXELS
from faceforge.media.probe import fraction, open_input
from faceforge.media.segments import Segment, cut_at
from faceforge.media.video import read_frames
from faceforge.scale import CutKind

#: Frames a keyframe segment renders (and drops) before its first frame, so the tracker and FaceMesh
#: have followed the faces for a while when the kept frames begin (measured in docs/scale-out.md).
KEYFRAME_RUN_IN = 20


def scene_segments(path: Path, seconds: float, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Segment]:
    """``path`` cut at the first scene cut at or after each multiple of ``seconds`` (0: one segment).
    Decodes the whole video once (a few ms a frame, against the ~100 ms of swapping it)."""
    detector = SceneCutDetector()
    stamps: list[int] = []
    cuts: list[int] = []
    time_base = Fraction(1, 90_000)
    for frame in read_frames(path, max_pixels=max_pixels):
        stamps.append(frame.pts)
        time_base = frame.time_base
        if detector.is_cut(frame.image):
            cuts.append(frame.pts)
    if not stamps:
        raise InputError(f"Cannot read {path}: its video stream holds no frames.")
    return cut_at(stamps, cuts, seconds, time_base)


def keyframe_segments(path: Path, seconds: float, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Segment]:
    """``path`` cut at the first keyframe at or after each multiple of ``seconds`` (0: one segment),
    planned from the packets alone (no decoding)."""
    stamps: list[int] = []
    keyframes: list[int] = []
    with open_input(path, max_pixels) as container:
        stream = container.streams.video[0]
        time_base = fraction(stream.time_base) or Fraction(1, 90_000)
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size:
                    stamps.append(packet.pts)
                    if packet.is_keyframe:
                        keyframes.append(packet.pts)
        except av.FFmpegError as exc:
            raise InputError(f"Cannot read {path}: its video data is corrupt.") from exc
    if not stamps:
        raise InputError(f"Cannot read {path}: its video stream holds no frames.")
    return cut_at(sorted(stamps), keyframes, seconds, time_base)


def video_segments(
    path: Path, seconds: float, cuts: CutKind, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[list[Segment], int]:
    """The segments of ``path`` cut at ``cuts`` and the run-in each segment renders."""
    from faceforge.scale.video import RUN_IN_FRAMES

    if cuts == CutKind.keyframes:
        return keyframe_segments(path, seconds, max_pixels), KEYFRAME_RUN_IN
    return scene_segments(path, seconds, max_pixels), RUN_IN_FRAMES
