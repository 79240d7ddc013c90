"""Streaming video input and output with PyAV: bounded memory, decode and encode in their own threads.

Reading (:func:`read_frames`) decodes in a background thread into a bounded queue, so decoding overlaps
the caller's processing and at most ``queue_size`` frames are held. Writing (:class:`VideoWriter`)
encodes in a background thread fed by a bounded queue, copies (or, where the container cannot hold
it, transcodes) the source's audio interleaved with the video, keeps every input timestamp and writes
to a temporary name that is renamed into place only when the file is complete.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
from PIL import Image

from faceforge.errors import InputError, OutputError, UnsupportedFormatError
from faceforge.media.atomic import AtomicOutput
from faceforge.media.provenance import insert_gif_comment, video_metadata

VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".mov", ".mkv", ".webm", ".gif"})
# Readable as input (PyAV decodes far more; these are the ones we recognise by name).
_INPUT_SUFFIXES = VIDEO_SUFFIXES | {".avi", ".m4v", ".ts", ".mts", ".flv", ".wmv", ".mpg", ".mpeg"}

# Audio codecs each output container takes as they are (packets copied, no re-encode); None: any.
_AUDIO_COPY: dict[str, frozenset[str] | None] = {
    ".mp4": frozenset({"aac", "mp3", "alac", "ac3", "opus"}),
    ".mov": frozenset({"aac", "mp3", "alac", "ac3", "opus"}),
    ".mkv": None,
    ".webm": frozenset({"opus", "vorbis"}),
    ".gif": frozenset(),
}
_AUDIO_TRANSCODE = {".mp4": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus"}
_DEFAULT_CODEC = {
    ".mp4": "libx264",
    ".mov": "libx264",
    ".mkv": "libx264",
    ".webm": "libvpx-vp9",
    ".gif": "gif",
}
_WEBM_CODECS = frozenset({"libvpx-vp9", "libvpx", "libaom-av1", "libsvtav1", "libdav1d"})
_FAST_PRESETS = frozenset({"ultrafast", "superfast", "veryfast", "faster", "fast"})
_GIF_TIME_BASE = Fraction(1, 100)  # the GIF format stores frame delays in centiseconds


def is_video_path(path: Path) -> bool:
    """True when the suffix names a video container faceforge reads."""
    return Path(path).suffix.lower() in _INPUT_SUFFIXES


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a pipeline needs to know about a video before decoding it."""

    width: int
    height: int
    fps: Fraction  # average frame rate
    time_base: Fraction  # of the video stream; frame pts count in these units
    frame_count: int
    duration: float  # seconds
    codec: str
    has_audio: bool
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None
    container: str


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame: its position, its timestamp in the stream's time base and its RGB pixels."""

    index: int
    pts: int
    time_base: Fraction
    image: np.ndarray  # uint8 RGB HxWx3

    @property
    def time(self) -> float:
        """Presentation time in seconds."""
        return float(self.pts * self.time_base)


def _open_input(path: Path) -> av.container.InputContainer:
    """Open ``path`` for reading, or raise InputError; the container has at least one video stream."""
    if not path.exists():
        raise InputError(f"Cannot read {path}: the file does not exist.")
    if not path.is_file():
        raise InputError(f"Cannot read {path}: it is a folder, not a video file.")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise InputError(
            f"Cannot read {path}: it is not a readable video (corrupt or unknown format)."
        ) from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"Cannot read {path}: it has no video stream.")
    return container


def _fraction(value: Fraction | None) -> Fraction | None:
    return Fraction(value) if value else None


def quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns (``np.rot90``'s ``k``) that make a frame upright, from FFmpeg's
    display-matrix rotation in degrees (phone videos store sideways pixels plus such a matrix)."""
    return round(rotation / 90) % 4


def _display_turns(path: Path) -> int:
    """Quarter turns of the first frame; the display matrix holds for the whole stream."""
    with _open_input(path) as container:
        try:
            frame = next(container.decode(container.streams.video[0]), None)
        except av.FFmpegError:
            return 0  # undecodable data is reported by the reader, with the frame where it happens
        return quarter_turns(frame.rotation) if frame is not None else 0


def probe_video(path: Path) -> VideoInfo:
    """Read a video's properties from its headers (counting packets only when the header has no count).

    Width and height are those of the upright picture: a video stored sideways with a display rotation
    reports its displayed size, which is what :func:`read_frames` yields.
    """
    path = Path(path)
    turned = _display_turns(path) % 2 == 1
    with _open_input(path) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        time_base = _fraction(stream.time_base) or Fraction(1, 90_000)
        frame_count = stream.frames
        try:
            if not frame_count:
                frame_count = sum(1 for packet in container.demux(stream) if packet.size > 0)
        except av.FFmpegError as exc:
            raise InputError(f"Cannot read {path}: its video data is corrupt.") from exc
        if stream.duration:
            duration = float(stream.duration * time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        fps = _fraction(stream.average_rate) or _fraction(stream.guessed_rate) or _fraction(stream.base_rate)
        if fps is None:
            fps = Fraction(frame_count) / Fraction(duration) if duration and frame_count else Fraction(25)
        if not frame_count or not context.width:
            raise InputError(f"Cannot read {path}: its video stream holds no frames.")
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoInfo(
            width=context.height if turned else context.width,
            height=context.width if turned else context.height,
            fps=fps,
            time_base=time_base,
            frame_count=frame_count,
            duration=duration,
            codec=context.codec.canonical_name,
            has_audio=audio is not None,
            audio_codec=audio.codec_context.codec.canonical_name if audio else None,
            sample_rate=audio.codec_context.sample_rate if audio else None,
            channels=audio.codec_context.layout.nb_channels if audio else None,
            container=container.format.name,
        )


_END = object()


def _put(out: queue.Queue[Any], item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; polling keeps a full queue from blocking shutdown."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _decode_into(
    container: av.container.InputContainer, path: Path, out: queue.Queue[Any], stop: threading.Event
) -> None:
    """Decoder thread: push VideoFrames, then _END or the error, into ``out``; always close the file."""
    index = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        time_base = _fraction(stream.time_base) or Fraction(1, 90_000)
        rate = _fraction(stream.average_rate) or _fraction(stream.guessed_rate) or Fraction(25)
        step = max(1, round(1 / (rate * time_base)))
        width, height = stream.codec_context.width, stream.codec_context.height
        last_pts: int | None = None
        for frame in container.decode(stream):
            if stop.is_set():
                return
            pts = frame.pts
            if pts is None:  # some containers (raw streams, AVI) leave pts unset: continue the cadence
                pts = 0 if last_pts is None else last_pts + step
            # Reformat to the stream's size, so a mid-stream resolution change cannot break the caller,
            # then turn upright as the display matrix says (players do; faces are found only upright).
            image = frame.to_ndarray(format="rgb24", width=width, height=height)
            turns = quarter_turns(frame.rotation)
            if turns:
                image = np.ascontiguousarray(np.rot90(image, k=turns))
            if not _put(out, VideoFrame(index, pts, time_base, image), stop):
                return
            last_pts = pts
            index += 1
        _put(out, _END, stop)
    except (av.FFmpegError, OSError) as exc:
        error = InputError(f"Cannot decode {path}: the video data is corrupt at frame {index}.")
        error.__cause__ = exc  # keep FFmpeg's detail for debugging
        _put(out, error, stop)
    except BaseException as exc:  # anything unexpected belongs to the consumer, not to this thread
        _put(out, exc, stop)
    finally:
        container.close()


def read_frames(path: Path, queue_size: int = 8) -> Iterator[VideoFrame]:
    """Yield the frames of ``path`` in display order, decoded ahead in a background thread.

    At most ``queue_size`` decoded frames wait in memory. Closing the generator early (``break``,
    ``.close()``, garbage collection) stops the thread and closes the file before it returns.
    """
    path = Path(path)
    container = _open_input(path)
    frames: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
    stop = threading.Event()
    thread = threading.Thread(
        target=_decode_into, args=(container, path, frames, stop), name="faceforge-decode", daemon=True
    )
    thread.start()
    try:
        while True:
            item = frames.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


_CLOSE = object()


def _open_source(path: Path) -> av.container.InputContainer:
    """Open the file the audio is taken from (any media file PyAV reads)."""
    if not path.is_file():
        raise InputError(f"Cannot take audio from {path}: the file does not exist.")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"Cannot take audio from {path}: it is not a readable media file.") from exc


def _encoder_options(codec: str, crf: int, preset: str) -> dict[str, str]:
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
    return av.VideoFrame.from_ndarray((np.asarray(quantized, dtype=np.uint8), argb), format="pal8")


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
        self.frames: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self.error: BaseException | None = None
        self.aborted = False
        self.closed = False
        self.written = 0
        self.last_pts: int | None = None
        self.source: av.container.InputContainer | None = None
        self.audio_packets: Iterator[av.Packet] | None = None
        self.audio_pending: av.Packet | None = None
        self.audio_transcode = False

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
            self.video = self.output.add_stream(codec, rate=info.fps)
            self.video.width = info.width + self.pad_x
            self.video.height = info.height + self.pad_y
            self.video.pix_fmt = pix_fmt
            self.video.time_base = self.time_base
            self.video.codec_context.time_base = self.time_base
            self.video.options = _encoder_options(codec, crf, preset)
            if source_path is not None and not self.gif:  # GIF has no audio
                self._add_audio(Path(source_path), suffix)
            self.output.start_encoding()
        except BaseException as exc:
            self._release()
            if isinstance(exc, av.FFmpegError | ValueError):
                raise OutputError(f"Cannot write {path}: the encoder rejected the settings ({exc}).") from exc
            raise
        self.thread = threading.Thread(target=self._run, name="faceforge-encode", daemon=True)
        self.thread.start()

    def _add_audio(self, source_path: Path, suffix: str) -> None:
        self.source = _open_source(source_path)
        if not self.source.streams.audio:
            return
        audio_in = self.source.streams.audio[0]
        name = audio_in.codec_context.codec.canonical_name
        allowed = _AUDIO_COPY[suffix]
        if allowed is None or name in allowed:
            self.audio = self.output.add_stream_from_template(audio_in)
        else:
            encoder = _AUDIO_TRANSCODE[suffix]
            rate = 48_000 if encoder == "libopus" else audio_in.codec_context.sample_rate
            self.audio = self.output.add_stream(encoder, rate=rate)
            self.audio.layout = audio_in.codec_context.layout
            self.audio_transcode = True
        self.audio_packets = self.source.demux(audio_in)

    # ----- producer side (caller's thread)

    def put(self, image: np.ndarray, pts: int) -> None:
        if self.error is not None:
            raise self.error
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
        self.last_pts = pts
        self.written += 1
        # Copy: the caller may reuse its buffer while the frame waits in the queue.
        self.frames.put((np.array(image, copy=True), pts))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.frames.put(_CLOSE)
        self.thread.join()
        if self.error is None and self.written == 0:
            self.error = OutputError(f"Cannot write {self.path}: no frames were written.")
        if self.error is not None:
            self._release()
            raise self.error
        try:
            self.output.close()
        except (av.FFmpegError, OSError) as exc:
            self._release()
            raise OutputError(f"Cannot write {self.path}: finishing the file failed ({exc}).") from exc
        if self.source is not None:
            self.source.close()
        if self.gif and self.tag is not None:
            try:
                insert_gif_comment(self.target.temp_path, self.tag)
            except (OSError, ValueError) as exc:
                self.target.discard()
                raise OutputError(f"Cannot write {self.path}: tagging the GIF failed ({exc}).") from exc
        self.target.commit()

    def abort(self) -> None:
        """Stop encoding and delete the temporary file; safe to call at any time, more than once."""
        if not self.closed:
            self.closed = True
            self.aborted = True
            self.frames.put(_CLOSE)
            self.thread.join()
        if not self.target.done:
            self._release()

    def _release(self) -> None:
        """Close both containers and delete the temporary file, after a failure."""
        for container in (self.output, self.source):
            if container is None:
                continue
            try:
                container.close()
            except (av.FFmpegError, OSError):
                # The file is being discarded because of an earlier error, which is the one reported.
                continue
        self.target.discard()

    # ----- consumer side (encoder thread)

    def _run(self) -> None:
        while True:
            item = self.frames.get()
            if item is _CLOSE:
                break
            if self.error is not None or self.aborted:
                continue  # keep draining so a producer never blocks on a full queue
            try:
                self._encode(*item)
            except BaseException as exc:
                self.error = self._as_output_error(exc)
        if self.error is None and not self.aborted:
            try:
                self._flush()
            except BaseException as exc:
                self.error = self._as_output_error(exc)

    def _as_output_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, av.FFmpegError):
            error = OutputError(f"Cannot write {self.path}: encoding failed ({exc}).")
            error.__cause__ = exc
            return error
        return exc

    def _encode(self, image: np.ndarray, pts: int) -> None:
        if self.pad_x or self.pad_y:
            image = np.pad(image, ((0, self.pad_y), (0, self.pad_x), (0, 0)), mode="edge")
        frame = _gif_frame(image) if self.gif else av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = pts
        frame.time_base = self.time_base
        self.output.mux(self.video.encode(frame))
        self._mux_audio(until=pts * self.time_base)

    def _flush(self) -> None:
        self.output.mux(self.video.encode(None))
        if self.audio_packets is None or self.last_pts is None:
            return
        # Audio runs to the end of the last frame; anything after (the caller wrote a shorter clip) is cut.
        end = (self.last_pts + max(1, round(1 / (self.info.fps * self.time_base)))) * self.time_base
        self._mux_audio(until=end, final=True)

    def _mux_audio(self, until: Fraction, final: bool = False) -> None:
        """Mux source audio packets that start before ``until``, keeping audio beside the video."""
        if self.audio_packets is None:
            return
        while True:
            packet = self.audio_pending or next(self.audio_packets, None)
            self.audio_pending = None
            if packet is None:
                break
            if (
                packet.pts is not None
                and packet.time_base is not None
                and packet.pts * packet.time_base >= until
            ):
                self.audio_pending = packet
                break
            self._mux_audio_packet(packet)
        if final:
            if self.audio_transcode:
                for decoded in self.audio_decoder.decode(None):
                    self.output.mux(self.audio.encode(decoded))
                self.output.mux(self.audio.encode(None))
            self.audio_packets = None

    @property
    def audio_decoder(self) -> av.codec.context.CodecContext:
        assert self.source is not None
        return self.source.streams.audio[0].codec_context

    def _mux_audio_packet(self, packet: av.Packet) -> None:
        if packet.dts is None:  # the empty packet demux yields at the end; decoders are flushed in _mux_audio
            return
        if self.audio_transcode:
            for decoded in self.audio_decoder.decode(packet):
                self.output.mux(self.audio.encode(decoded))
            return
        packet.stream = self.audio
        self.output.mux(packet)


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
