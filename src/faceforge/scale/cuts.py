"""Where a batch job cuts a video into segments: at scene cuts, the only frames where the video run's
per-frame state starts afresh.

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
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from faceforge.analysis.following import SceneCutDetector
from faceforge.errors import InputError
from faceforge.media.limits import DEFAULT_MAX_PIXELS
from faceforge.media.segments import Segment, cut_at
from faceforge.media.video import read_frames


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
