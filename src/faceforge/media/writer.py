"""Streaming video output: encode in a background thread, carry the source's audio, rename when complete.

:class:`VideoWriter` encodes in a thread fed by a bounded queue, copies (or, where the container cannot
hold it, transcodes) the source's audio interleaved with the video (see :mod:`faceforge.media.audio`),
keeps every input timestamp and writes to a temporary name that is renamed into place only when the file
is complete (see :mod:`faceforge.media.atomic`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
from PIL import Image

from faceforge.errors import OutputError, UnsupportedFormatError
from faceforge.media.atomic import AtomicOutput
from faceforge.media.audio import AudioPassthrough
from faceforge.media.probe import VIDEO_SUFFIXES, VideoInfo
from faceforge.media.provenance import insert_gif_comment, video_metadata
from faceforge.media.reader import VideoFrame
from faceforge.media.workers import ConsumerThread

_DEFAULT_CODEC = {
    ".mp4": "libx264",
    ".mov": "libx264",
    ".mkv": "libx264",
    ".webm": "libvpx-vp9",
    ".gif": "gif",
}
#: Containers whose default video codec is libx264, so a run's ``--codec`` choice applies to them.
X264_SUFFIXES: frozenset[str] = frozenset(s for s, codec in _DEFAULT_CODEC.items() if codec == "libx264")
_WEBM_CODECS = frozenset({"libvpx-vp9", "libvpx", "libaom-av1", "libsvtav1", "libdav1d"})
_FAST_PRESETS = frozenset({"ultrafast", "superfast", "veryfast", "faster", "fast"})
_GIF_TIME_BASE = Fraction(1, 100)  # the GIF format stores frame delays in centiseconds


def _encoder_options(codec: str, crf: int, preset: str) -> dict[str, object]:
    if codec in ("libx264", "libx265"):
        return {"crf": str(crf), "preset": preset}
    if codec == "libvpx-vp9":
        # Constant quality needs a zero bit rate; x264-style presets map to libvpx's speed settings.
        fast = preset in _FAST_PRESETS or preset.endswith("fast")
        speed = {"deadline": "realtime", "cpu-used": "8"} if fast else {"deadline": "good", "cpu-used": "2"}
        return {"crf": str(crf), "b": "0", "row-mt": "1", **speed}
    return {}


def _gif_frame(image: np.ndarray) -> av.VideoFrame:
    """A pal8 frame with its own 256-colour median-cut palette (the GIF encoder takes pal8)."""
    quantized = Image.fromarray(image, mode="RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    rgb = np.zeros((256, 3), dtype=np.uint8)
    colours = np.asarray(quantized.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:256]
    rgb[: len(colours)] = colours
    argb = np.concatenate([np.full((256, 1), 255, dtype=np.uint8), rgb], axis=1)
    # PyAV takes a pal8 frame as an (indices, ARGB palette) pair, which its typed signature omits.
    from_ndarray: Callable[..., av.VideoFrame] = av.VideoFrame.from_ndarray
    return from_ndarray((np.asarray(quantized, dtype=np.uint8), argb), format="pal8")


class _Encoder:
    """The output file, its streams and the encoder thread.

    Kept apart from :class:`VideoWriter` so that a writer dropped without ``close()`` can be finalised
    (discarding the temporary file): the thread and the finaliser reference this object, not the writer.
    """

    def __init__(
        self,
        path: Path,
        info: VideoInfo,
        source_path: Path | None,
        codec: str | None,
        crf: int,
        preset: str,
        pix_fmt: str | None,
        tag: dict[str, Any] | None,
        queue_size: int,
    ) -> None:
        suffix = path.suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            known = ", ".join(sorted(VIDEO_SUFFIXES))
            raise UnsupportedFormatError(f"Cannot write {path}: the suffix is not one of {known}.")
        codec = codec or _DEFAULT_CODEC[suffix]
        if suffix == ".webm" and codec not in _WEBM_CODECS:
            raise UnsupportedFormatError(
                f"Cannot write {path}: WebM holds VP8, VP9 or AV1 video, not {codec}."
            )
        self.path = path
        self.info = info
        self.tag = tag
        self.gif = suffix == ".gif"
        if self.gif and codec != "gif":
            raise UnsupportedFormatError(f"Cannot write {path}: a GIF file holds only the gif codec.")
        pix_fmt = "pal8" if self.gif else (pix_fmt or "yuv420p")
        video_format = av.VideoFormat(pix_fmt)
        # Chroma-subsampled formats need even sizes: pad one replicated column/row rather than lose one.
        self.pad_x = info.width % 2 if video_format.chroma_width(2) == 1 else 0
        self.pad_y = info.height % 2 if video_format.chroma_height(2) == 1 else 0
        self.time_base = _GIF_TIME_BASE if self.gif else info.time_base
        self.closed = False
        self.written = 0
        self.last_pts: int | None = None
        self.audio: AudioPassthrough | None = None

        self.target = AtomicOutput(path)
        options = {"movflags": "use_metadata_tags+faststart"} if suffix in (".mp4", ".mov") else {}
        try:
            self.output = av.open(str(self.target.temp_path), mode="w", container_options=options)
        except (av.FFmpegError, OSError) as exc:
            self.target.discard()
            raise OutputError(f"Cannot write {path}: the output file cannot be created.") from exc
        try:
            if tag is not None:
                self.output.metadata.update(video_metadata(tag))
            video = self.output.add_stream(codec, rate=info.fps)
            if not isinstance(video, av.VideoStream):
                raise UnsupportedFormatError(f"Cannot write {path}: {codec} is not a video codec.")
            self.video = video
            self.video.width = info.width + self.pad_x
            self.video.height = info.height + self.pad_y
            self.video.pix_fmt = pix_fmt
            self.video.time_base = self.time_base
            self.video.codec_context.time_base = self.time_base
            self.video.options = _encoder_options(codec, crf, preset)
            if source_path is not None and not self.gif:  # GIF has no audio
                self.audio = AudioPassthrough(Path(source_path), self.output, suffix)
            self.output.start_encoding()
        except BaseException as exc:
            self._release()
            if isinstance(exc, av.FFmpegError | ValueError):
                raise OutputError(f"Cannot write {path}: the encoder rejected the settings ({exc}).") from exc
            raise
        self.thread: ConsumerThread[tuple[np.ndarray, int]] = ConsumerThread(
            self._encode, "faceforge-encode", queue_size, finish=self._flush
        )

    # ----- producer side (caller's thread)

    def put(self, image: np.ndarray, pts: int) -> None:
        if self.closed:
            raise ValueError("VideoWriter.write() called after close().")
        if image.dtype != np.uint8 or image.shape != (self.info.height, self.info.width, 3):
            raise ValueError(
                f"VideoWriter needs uint8 frames of shape {(self.info.height, self.info.width, 3)}, "
                f"got {image.dtype} {image.shape}."
            )
        if self.last_pts is not None and pts <= self.last_pts:
            if not self.gif:
                raise ValueError(f"Frame timestamps must increase: pts {pts} after {self.last_pts}.")
            pts = self.last_pts + 1  # centisecond rounding made two GIF frames collide
        # Copy: the caller may reuse its buffer while the frame waits in the queue.
        try:
            self.thread.put((np.array(image, copy=True), pts))
        except av.FFmpegError as exc:  # an earlier frame failed to encode
            raise self._as_output_error(exc) from exc
        self.last_pts = pts
        self.written += 1

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.thread.join()
        except BaseException as exc:
            self._release()
            raise self._as_output_error(exc) from exc
        if self.written == 0:
            self._release()
            raise OutputError(f"Cannot write {self.path}: no frames were written.")
        try:
            self.output.close()
            if self.audio is not None:
                self.audio.close()
            if self.gif and self.tag is not None:
                insert_gif_comment(self.target.temp_path, self.tag)
        except BaseException as exc:  # a signal while the trailer is written discards the file too
            self._release()
            if isinstance(exc, av.FFmpegError | OSError | ValueError):
                raise OutputError(f"Cannot write {self.path}: finishing the file failed ({exc}).") from exc
            raise
        self.target.commit()

    def abort(self) -> None:
        """Stop encoding and delete the temporary file; safe to call at any time, more than once."""
        self.closed = True
        self.thread.stop()
        if not self.target.done:
            self._release()

    def _release(self) -> None:
        """Close both containers and delete the temporary file, after a failure."""
        containers = [self.output, self.audio.source if self.audio is not None else None]
        for container in containers:
            if container is None:
                continue
            try:
                container.close()
            except (av.FFmpegError, OSError):
                # The file is being discarded because of an earlier error, which is the one reported.
                continue
        self.target.discard()

    def _as_output_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, av.FFmpegError):
            error = OutputError(f"Cannot write {self.path}: encoding failed ({exc}).")
            error.__cause__ = exc
            return error
        return exc

    # ----- consumer side (encoder thread)

    def _encode(self, item: tuple[np.ndarray, int]) -> None:
        image, pts = item
        if self.pad_x or self.pad_y:
            image = np.pad(image, ((0, self.pad_y), (0, self.pad_x), (0, 0)), mode="edge")
        frame = _gif_frame(image) if self.gif else av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = pts
        frame.time_base = self.time_base
        self.output.mux(self.video.encode(frame))
        if self.audio is not None:
            self.audio.mux_until(pts * self.time_base)

    def _flush(self) -> None:
        self.output.mux(self.video.encode(None))
        if self.audio is None or self.last_pts is None:
            return
        # Audio runs to the end of the last frame; anything after (the caller wrote a shorter clip) is cut.
        end = (self.last_pts + max(1, round(1 / (self.info.fps * self.time_base)))) * self.time_base
        self.audio.finish(end)


class VideoWriter:
    """Encode frames to a video file, in a background thread, with the source's audio and a provenance tag.

    Timestamps are kept exactly: each frame's ``pts`` is written in the input's time base (where the
    container allows that time base; Matroska/WebM store milliseconds and GIF centiseconds, so there
    they are rounded, and Matroska shifts all streams together when copied AAC starts before zero).
    Odd sizes are padded by one replicated column/row for chroma-subsampled pixel
    formats such as ``yuv420p``. ``codec=None`` picks libx264 (mp4, mov, mkv), libvpx-vp9 (webm) or gif.
    The file appears under ``path`` only when :meth:`close` succeeds; an exception inside the ``with``
    block, or a writer dropped without closing, leaves no file behind.
    """

    def __init__(
        self,
        path: Path,
        info: VideoInfo,
        source_path: Path | None = None,
        codec: str | None = None,
        crf: int = 18,
        preset: str = "veryfast",
        pix_fmt: str | None = None,
        tag: dict[str, Any] | None = None,
        queue_size: int = 8,
    ) -> None:
        self.path = Path(path)
        self.info = info
        self._encoder = _Encoder(self.path, info, source_path, codec, crf, preset, pix_fmt, tag, queue_size)
        self._finalizer = weakref.finalize(self, self._encoder.abort)
        self._next_index = 0

    def write(self, frame: VideoFrame | np.ndarray) -> None:
        """Queue one frame: a VideoFrame keeps its pts; a bare RGB array gets the next pts at ``info.fps``."""
        encoder = self._encoder
        if isinstance(frame, VideoFrame):
            image = frame.image
            pts = frame.pts
            if frame.time_base != encoder.time_base:
                pts = round(frame.pts * frame.time_base / encoder.time_base)
        else:
            image = frame
            pts = round(self._next_index / (self.info.fps * encoder.time_base))
        self._next_index += 1
        encoder.put(image, pts)

    def close(self) -> None:
        """Finish encoding, write the trailer and rename the file into place."""
        try:
            self._encoder.close()
        finally:
            self._finalizer.detach()

    def abort(self) -> None:
        """Stop and delete the temporary file; nothing appears under ``path``."""
        self._finalizer()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
