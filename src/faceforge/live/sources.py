"""Live inputs: a camera (its number), a video file (paced at its own rate, standing in for a camera)
or a stream URL (rtsp://, rtmp://, http://), all read through OpenCV's capture."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from faceforge.errors import InputError

_STREAM_SCHEMES = ("rtsp://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


class FrameSource:
    """Frames of one live input as uint8 RGB; :meth:`frames` ends at the end of a file or stream."""

    def __init__(self, spec: str) -> None:
        import cv2

        self.spec = spec
        self.is_camera = spec.isdigit()
        self.is_file = not self.is_camera and not spec.lower().startswith(_STREAM_SCHEMES)
        if self.is_file and not Path(spec).is_file():
            raise InputError(f"The live input {spec} is neither a camera number, a stream URL nor a file.")
        self._capture = cv2.VideoCapture(int(spec) if self.is_camera else spec)
        if not self._capture.isOpened():
            self._capture.release()
            kind = "camera" if self.is_camera else "stream" if not self.is_file else "video file"
            raise InputError(f"Cannot open the {kind} {spec} for live input.")
        rate = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = rate if 0 < rate < 1000 else 30.0

    def frames(self, stop: threading.Event) -> Iterator[np.ndarray]:
        """Frames as the input delivers them until it ends or ``stop`` is set; a file's frames come at
        its frame rate, as a camera's would (so a slow swap drops frames rather than slowing it)."""
        import cv2

        interval = 1.0 / self.fps
        start = time.perf_counter()
        count = 0
        try:
            while not stop.is_set():
                if self.is_file:
                    delay = start + count * interval - time.perf_counter()
                    if delay > 0:
                        stop.wait(delay)
                ok, bgr = self._capture.read()
                if not ok:
                    return
                count += 1
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            self._capture.release()
