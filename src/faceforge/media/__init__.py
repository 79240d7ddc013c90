"""Image and video reading and writing: PyAV streaming, audio passthrough, provenance tags."""

from importlib import import_module
from typing import Any

#: Where each name of the package lives; the module is imported on first use, so that reading
#: ``faceforge.media.limits`` (as option declarations and ``--help`` do) does not load PyAV or Pillow.
_HOMES = {
    "AtomicOutput": "atomic",
    "atomic_output": "atomic",
    "IMAGE_SUFFIXES": "images",
    "is_image_path": "images",
    "read_image": "images",
    "write_image": "images",
    "make_tag": "provenance",
    "read_tag": "provenance",
    "VIDEO_SUFFIXES": "video",
    "VideoFrame": "video",
    "VideoInfo": "video",
    "VideoWriter": "video",
    "is_video_path": "video",
    "probe_video": "video",
    "read_frames": "video",
    "add_watermark": "watermark",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"faceforge.media.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'faceforge.media' has no attribute {name!r}")


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
