"""Streaming video input and output with PyAV: the one module callers import for video.

The work is split by job: :mod:`~faceforge.media.probe` reads the headers (size, rate, frame count,
audio) and refuses oversized pictures, :mod:`~faceforge.media.reader` decodes in a background thread and
notices a file cut short, :mod:`~faceforge.media.writer` encodes in a background thread and renames the
file into place when complete, and :mod:`~faceforge.media.audio` carries the source's audio across.
"""

from faceforge.media.probe import VIDEO_SUFFIXES, VideoInfo, is_video_path, probe_video, quarter_turns
from faceforge.media.reader import VideoFrame, VideoReader, read_frames
from faceforge.media.writer import X264_SUFFIXES, VideoWriter

__all__ = [
    "VIDEO_SUFFIXES",
    "X264_SUFFIXES",
    "VideoFrame",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "is_video_path",
    "probe_video",
    "quarter_turns",
    "read_frames",
]
