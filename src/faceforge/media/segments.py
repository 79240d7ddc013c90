"""One long video as segments: cut at chosen frames, decoded on their own, and their encoded parts joined
back into one file with the source's timestamps and its audio copied once.

- **Cutting**: :func:`cut_at` picks the segments' first frames among candidates (the batch jobs use the
  scene cuts, see :mod:`faceforge.scale.cuts`); any frame will do, as a segment need not start at a
  keyframe: :func:`read_segment` seeks to the keyframe at or before it and drops the frames before it,
  and checks that it decoded exactly the frames planned (it refuses a stream whose pictures it cannot
  reproduce from that keyframe).
- **Joining** copies the parts' video packets as they are (no re-encode) into one file under a temporary
  name (:mod:`faceforge.media.atomic`), keeping each packet's timestamps, and copies the source's audio
  once beside them (:class:`~faceforge.media.audio.AudioPassthrough`), cut at the end of the last frame as
  :class:`~faceforge.media.writer.VideoWriter` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from faceforge.errors import InputError, OutputError
from faceforge.media.atomic import AtomicOutput
from faceforge.media.audio import AudioPassthrough
from faceforge.media.limits import DEFAULT_MAX_PIXELS
from faceforge.media.probe import fraction, open_input, quarter_turns
from faceforge.media.provenance import video_metadata
from faceforge.media.reader import VideoFrame


@dataclass(frozen=True, slots=True)
class Segment:
    """Frames ``first_frame .. first_frame + frames - 1`` of a video: those whose pts lie in
    ``[start_pts, end_pts)`` (``end_pts`` None: to the end)."""

    index: int
    start_pts: int
    end_pts: int | None
    first_frame: int
    frames: int

    def holds(self, pts: int) -> bool:
        return pts >= self.start_pts and (self.end_pts is None or pts < self.end_pts)


def _frame_stamps(path: Path, max_pixels: int) -> list[int]:
    """The sorted pts of every video frame of ``path``, read from the packets (no decoding)."""
    with open_input(path, max_pixels) as container:
        stream = container.streams.video[0]
        stamps: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size:
                    stamps.append(packet.pts)
        except av.FFmpegError as exc:
            raise InputError(f"Cannot read {path}: its video data is corrupt.") from exc
    if not stamps:
        raise InputError(f"Cannot read {path}: its video stream holds no frames.")
    return sorted(stamps)


def cut_at(stamps: Sequence[int], cuts: Sequence[int], seconds: float, time_base: Fraction) -> list[Segment]:
    """Segments of a video whose frames have the pts ``stamps`` (sorted), cut at the first of ``cuts``
    (pts of the frames a segment may start at) at or after each multiple of ``seconds`` (0: one segment).

    The cut points depend on the file and ``seconds`` only, never on how many workers run the segments,
    so a job's output does not depend on the size of the cluster.
    """
    starts = [stamps[0]]
    if seconds > 0:
        step = Fraction(seconds)
        for pts in sorted(cuts):
            if pts > starts[-1] and pts * time_base >= step * len(starts):
                starts.append(pts)
    segments = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else None
        first = sum(1 for pts in stamps if pts < start)
        count = sum(1 for pts in stamps if pts >= start and (end is None or pts < end))
        segments.append(Segment(index, start, end, first, count))
    return segments


def frame_span(
    path: Path, segment: Segment, first_frame: int, end_frame: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Segment:
    """The frames ``first_frame .. end_frame - 1`` of ``path`` (clamped to the video) as a segment to read
    with :func:`read_segment`: ``segment`` widened by a run-in before it and a run-out after it. The span
    need not start at a keyframe: the decoder starts at the keyframe before it and drops the frames
    before ``first_frame``."""
    stamps = _frame_stamps(Path(path), max_pixels)
    first = max(0, min(first_frame, segment.first_frame))
    end = min(len(stamps), max(end_frame, segment.first_frame + segment.frames))
    return Segment(
        segment.index, stamps[first], stamps[end] if end < len(stamps) else None, first, end - first
    )


def read_segment(path: Path, segment: Segment, max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[VideoFrame]:
    """The decoded frames of ``segment``, numbered as in the whole video, upright, at the stream's size.

    Raises InputError when the decoder does not give exactly the planned frames (the segment's first
    keyframe does not start a closed group of pictures), rather than return a segment that would not join
    seamlessly.
    """
    path = Path(path)
    container = open_input(path, max_pixels)
    produced = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        time_base = fraction(stream.time_base) or Fraction(1, 90_000)
        width, height = stream.codec_context.width, stream.codec_context.height
        container.seek(segment.start_pts, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts < segment.start_pts:
                continue
            if not segment.holds(frame.pts):
                break
            image: np.ndarray = frame.to_ndarray(format="rgb24", width=width, height=height)
            turns = quarter_turns(frame.rotation)
            if turns:
                image = np.ascontiguousarray(np.rot90(image, k=turns))
            yield VideoFrame(segment.first_frame + produced, frame.pts, time_base, image)
            produced += 1
    except av.FFmpegError as exc:
        raise InputError(
            f"Cannot decode {path}: the video data is corrupt at frame {segment.first_frame + produced}."
        ) from exc
    finally:
        container.close()
    if produced != segment.frames:
        raise InputError(
            f"Cannot split {path} at its keyframes: segment {segment.index} decodes {produced} frames "
            f"instead of {segment.frames} (its pictures depend on the previous segment)."
        )


def join_segments(
    parts: Sequence[Path],
    output: Path,
    audio_source: Path | None,
    fps: Fraction,
    tag: dict[str, Any] | None = None,
    starts: Sequence[Fraction] | None = None,
) -> int:
    """Copy the video packets of ``parts`` (in order) into ``output`` and the audio of ``audio_source``
    once beside them, up to the end of the last frame (its pts plus one frame at ``fps``, the source's
    rate, as :class:`~faceforge.media.writer.VideoWriter` cuts it); returns the number of video packets.
    The parts must come from one encoder setting (same codec parameters), as the segments of one job do;
    their timestamps are kept as they are, or, with ``starts`` (each part's first frame time in seconds,
    as the source has it), shifted so each part starts there: an MP4 part that starts at another time
    than 0 holds its start in an edit list in milliseconds (frame 22 at 30 fps reads back at 0.733 s,
    10/30000 s early), which the source's own timestamps put right."""
    if not parts:
        raise OutputError(f"Cannot write {output}: there are no segments to join.")
    target = AtomicOutput(Path(output))
    suffix = Path(output).suffix.lower()
    options = {"movflags": "use_metadata_tags+faststart"} if suffix in (".mp4", ".mov") else {}
    written = 0
    audio: AudioPassthrough | None = None
    try:
        with av.open(str(parts[0])) as first:
            template = first.streams.video[0]
            out = av.open(str(target.temp_path), mode="w", container_options=options)
            try:
                if tag is not None:
                    out.metadata.update(video_metadata(tag))
                video = out.add_stream_from_template(template)
                video.time_base = template.time_base
                if audio_source is not None:
                    audio = AudioPassthrough(Path(audio_source), out, suffix)
                out.start_encoding()
                last: tuple[int, Fraction] | None = None
                for index, part in enumerate(parts):
                    start = None if starts is None else starts[index]
                    count, last = _copy_packets(Path(part), out, video, audio, last, start)
                    written += count
                if audio is not None and last is not None:
                    step = max(1, round(1 / (Fraction(fps) * last[1])))
                    audio.finish((last[0] + step) * last[1])
            finally:
                out.close()
                if audio is not None:
                    audio.close()
    except BaseException as exc:
        target.discard()
        if isinstance(exc, av.FFmpegError | OSError):
            raise OutputError(f"Cannot write {output}: joining the segments failed ({exc}).") from exc
        raise
    target.commit()
    return written


def _copy_packets(
    part: Path,
    out: av.container.OutputContainer,
    video: Any,
    audio: AudioPassthrough | None,
    last: tuple[int, Fraction] | None,
    start: Fraction | None = None,
) -> tuple[int, tuple[int, Fraction] | None]:
    """Mux one part's video packets into ``out`` (audio up to each packet's time), shifted to begin at
    ``start`` seconds when given: the packets copied and the latest pts so far (with its time base)."""
    count = 0
    with av.open(str(part)) as container:
        stream = container.streams.video[0]
        shift = 0
        time_base = fraction(stream.time_base)
        if start is not None and stream.start_time is not None and time_base is not None:
            shift = round(start / time_base) - stream.start_time
        for packet in container.demux(stream):
            if packet.dts is None:
                continue
            packet.dts += shift
            if packet.pts is not None:
                packet.pts += shift
            count += packet.size > 0
            if packet.pts is not None and (last is None or packet.pts > last[0]):
                last = (packet.pts, Fraction(packet.time_base))
            packet.stream = video
            out.mux(packet)
            if audio is not None and packet.pts is not None:
                audio.mux_until(packet.pts * Fraction(packet.time_base))
    return count, last
