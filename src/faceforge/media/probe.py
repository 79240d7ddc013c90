"""What a video is before decoding it: its container, size, rate, frame count and audio, from the headers.

The size is checked against a pixel limit here, before any frame is decoded at full size (FFmpeg's own
stream-info probe included), so a small file declaring a huge picture is refused with one sentence
instead of driving memory up.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from faceforge.errors import InputError
from faceforge.media.limits import DEFAULT_MAX_PIXELS

VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".mov", ".mkv", ".webm", ".gif"})
# Readable as input (PyAV decodes far more; these are the ones we recognise by name).
INPUT_VIDEO_SUFFIXES = VIDEO_SUFFIXES | {".avi", ".m4v", ".ts", ".mts", ".flv", ".wmv", ".mpg", ".mpeg"}


def is_video_path(path: Path) -> bool:
    """True when the suffix names a video container faceforge reads."""
    return Path(path).suffix.lower() in INPUT_VIDEO_SUFFIXES


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


def open_input(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> av.container.InputContainer:
    """Open ``path`` for reading, or raise InputError; the container has at least one video stream,
    whose declared picture is at most ``max_pixels``."""
    if not path.exists():
        raise InputError(f"Cannot read {path}: the file does not exist.")
    if not path.is_file():
        raise InputError(f"Cannot read {path}: it is a folder, not a video file.")
    try:
        # The options reach the decoder FFmpeg's stream-info probe opens: with max_pixels it refuses to
        # decode a picture over the limit (a 10000x10000 frame cost 234 MB there, 36 MB with it), while
        # the container still reports the declared size checked below.
        container = av.open(str(path), mode="r", options={"max_pixels": str(max_pixels)})
    except (av.FFmpegError, OSError) as exc:
        raise InputError(
            f"Cannot read {path}: it is not a readable video (corrupt or unknown format)."
        ) from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"Cannot read {path}: it has no video stream.")
    context = container.streams.video[0].codec_context
    if context.width * context.height > max_pixels:
        container.close()
        raise InputError(
            f"Cannot read {path}: its {context.width}x{context.height} frames are over the limit of "
            f"{max_pixels:,} pixels."
        )
    return container


def fraction(value: Fraction | None) -> Fraction | None:
    """``value`` as a Fraction, or None where PyAV reports a missing or zero rate."""
    return Fraction(value) if value else None


def quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns (``np.rot90``'s ``k``) that make a frame upright, from FFmpeg's
    display-matrix rotation in degrees (phone videos store sideways pixels plus such a matrix)."""
    return round(rotation / 90) % 4


def _display_turns(path: Path, max_pixels: int) -> int:
    """Quarter turns of the first frame; the display matrix holds for the whole stream."""
    with open_input(path, max_pixels) as container:
        try:
            frame = next(container.decode(container.streams.video[0]), None)
        except av.FFmpegError:
            return 0  # undecodable data is reported by the reader, with the frame where it happens
        return quarter_turns(frame.rotation) if frame is not None else 0


def probe_video(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> VideoInfo:
    """Read a video's properties from its headers (counting packets only when the header has no count).

    Width and height are those of the upright picture: a video stored sideways with a display rotation
    reports its displayed size, which is what :func:`~faceforge.media.reader.read_frames` yields. A
    picture over ``max_pixels`` is refused before any frame is decoded.
    """
    path = Path(path)
    with open_input(path, max_pixels) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        time_base = fraction(stream.time_base) or Fraction(1, 90_000)
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
        fps = fraction(stream.average_rate) or fraction(stream.guessed_rate) or fraction(stream.base_rate)
        if fps is None:
            fps = Fraction(frame_count) / Fraction(duration) if duration and frame_count else Fraction(25)
        if not frame_count or not context.width:
            raise InputError(f"Cannot read {path}: its video stream holds no frames.")
        audio = container.streams.audio[0] if container.streams.audio else None
        width, height = context.width, context.height
        info_audio = (
            audio.codec_context.codec.canonical_name if audio else None,
            audio.codec_context.sample_rate if audio else None,
            audio.codec_context.layout.nb_channels if audio else None,
        )
        codec, container_name = context.codec.canonical_name, container.format.name
    turned = _display_turns(path, max_pixels) % 2 == 1
    return VideoInfo(
        width=height if turned else width,
        height=width if turned else height,
        fps=fps,
        time_base=time_base,
        frame_count=frame_count,
        duration=duration,
        codec=codec,
        has_audio=audio is not None,
        audio_codec=info_audio[0],
        sample_rate=info_audio[1],
        channels=info_audio[2],
        container=container_name,
    )
