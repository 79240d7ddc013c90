"""Independent read-backs of written videos for tests (PyAV directly, not faceforge's own reader)."""

from fractions import Fraction
from pathlib import Path

import av


def frame_times(path: Path) -> list[Fraction]:
    """Presentation time of every decoded video frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [frame.pts * stream.time_base for frame in container.decode(stream)]


def audio_span(path: Path) -> tuple[str, float] | None:
    """Audio codec and the end time of the last audio packet (its duration when it starts at zero)."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        packets = [p for p in container.demux(stream) if p.dts is not None]
        end = max((p.pts + p.duration) * p.time_base for p in packets)
        return stream.codec_context.codec.canonical_name, float(end)
