"""Image and video reading and writing: PyAV streaming, audio passthrough, provenance tags."""

from faceforge.media.atomic import AtomicOutput, atomic_output
from faceforge.media.images import IMAGE_SUFFIXES, is_image_path, read_image, write_image
from faceforge.media.provenance import make_tag, read_tag
from faceforge.media.video import (
    VIDEO_SUFFIXES,
    VideoFrame,
    VideoInfo,
    VideoWriter,
    is_video_path,
    probe_video,
    read_frames,
)
from faceforge.media.watermark import add_watermark

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "AtomicOutput",
    "VideoFrame",
    "VideoInfo",
    "VideoWriter",
    "add_watermark",
    "atomic_output",
    "is_image_path",
    "is_video_path",
    "make_tag",
    "probe_video",
    "read_frames",
    "read_image",
    "read_tag",
    "write_image",
]
