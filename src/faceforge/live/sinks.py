"""Where live frames go: a window on this screen, a video file (tagged, renamed into place when the
run ends) or a stream URL (rtmp:// as FLV, rtsp:// as RTSP), each opened at the first frame's size."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from faceforge.errors import OutputError
from faceforge.media.probe import VideoInfo
from faceforge.media.provenance import video_metadata
from faceforge.media.video import VideoFrame, VideoWriter

MILLISECONDS = Fraction(1, 1000)
WINDOW = "window"
_KEYS_THAT_STOP = (ord("q"), 27)  # q, Esc


class WindowSink:
    """An OpenCV window; q or Esc (or closing it) stops the run."""

    def __init__(self, title: str = "faceforge live") -> None:
        self.title = title
        self._stopped = False
        self._opened = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def write(self, image: np.ndarray, time_ms: int) -> None:
        import cv2

        try:
            cv2.imshow(self.title, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        except cv2.error as exc:
            raise OutputError("Cannot open a window here (no display); use --output FILE or a URL.") from exc
        self._opened = True
        if cv2.waitKey(1) & 0xFF in _KEYS_THAT_STOP or cv2.getWindowProperty(self.title, 0) < 0:
            self._stopped = True

    def close(self) -> None:
        if self._opened:
            import cv2

            cv2.destroyWindow(self.title)

    abort = close


def _info(image: np.ndarray, fps: float) -> VideoInfo:
    height, width = image.shape[:2]
    return VideoInfo(
        width,
        height,
        Fraction(fps).limit_denominator(1001),
        MILLISECONDS,
        0,
        0.0,
        "h264",
        False,
        None,
        None,
        None,
        "",
    )


class FileSink:
    """A video file with the frames' own timing (milliseconds since the start) and the provenance tag."""

    def __init__(self, path: Path, fps: float, tag: dict[str, Any], crf: int, preset: str) -> None:
        self.path, self.fps, self.tag, self.crf, self.preset = path, fps, tag, crf, preset
        self._writer: VideoWriter | None = None

    @property
    def stopped(self) -> bool:
        return False

    def write(self, image: np.ndarray, time_ms: int) -> None:
        if self._writer is None:
            self._writer = VideoWriter(
                self.path, _info(image, self.fps), crf=self.crf, preset=self.preset, tag=self.tag
            )
        self._writer.write(VideoFrame(0, time_ms, MILLISECONDS, image))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()


class StreamSink:
    """An H.264 stream pushed to an rtmp:// (FLV) or rtsp:// server, tagged in its metadata."""

    def __init__(self, url: str, fps: float, tag: dict[str, Any], preset: str = "ultrafast") -> None:
        self.url, self.fps, self.tag, self.preset = url, fps, tag, preset
        self._output: Any = None
        self._video: Any = None

    @property
    def stopped(self) -> bool:
        return False

    def _open(self, image: np.ndarray) -> None:
        import av

        container_format = "rtsp" if self.url.lower().startswith("rtsp://") else "flv"
        try:
            self._output = av.open(self.url, mode="w", format=container_format)
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(f"Cannot open the stream {self.url}: {exc}.") from exc
        self._output.metadata.update(video_metadata(self.tag))
        height, width = image.shape[:2]
        self._video = self._output.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
        self._video.width, self._video.height = width - width % 2, height - height % 2
        self._video.pix_fmt = "yuv420p"
        self._video.time_base = MILLISECONDS
        self._video.options = {"preset": self.preset, "tune": "zerolatency"}

    def write(self, image: np.ndarray, time_ms: int) -> None:
        import av

        if self._output is None:
            self._open(image)
        frame = av.VideoFrame.from_ndarray(image[: self._video.height, : self._video.width], format="rgb24")
        frame.pts, frame.time_base = time_ms, MILLISECONDS
        self._output.mux(self._video.encode(frame))

    def close(self) -> None:
        if self._output is not None:
            self._output.mux(self._video.encode(None))
            self._output.close()

    def abort(self) -> None:
        if self._output is not None:
            self._output.close()


def open_sink(output: str, fps: float, tag: dict[str, Any], crf: int, preset: str) -> Any:
    """The sink ``--output`` names: ``window``, a URL with a scheme, or a file path."""
    if output == WINDOW:
        return WindowSink()
    if "://" in output:
        return StreamSink(output, fps, tag)
    return FileSink(Path(output), fps, tag, crf, preset)
