"""The source's audio carried into a video output: copied packet for packet where the container takes the
codec, transcoded where it does not, and interleaved with the video as frames are written."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av

from faceforge.errors import InputError

# Audio codecs each output container takes as they are (packets copied, no re-encode); None: any.
_AUDIO_COPY: dict[str, frozenset[str] | None] = {
    ".mp4": frozenset({"aac", "mp3", "alac", "ac3", "opus"}),
    ".mov": frozenset({"aac", "mp3", "alac", "ac3", "opus"}),
    ".mkv": None,
    ".webm": frozenset({"opus", "vorbis"}),
    ".gif": frozenset(),
}
_AUDIO_TRANSCODE: dict[str, Literal["aac", "libopus"]] = {
    ".mp4": "aac",
    ".mov": "aac",
    ".mkv": "aac",
    ".webm": "libopus",
}


def _open_source(path: Path) -> av.container.InputContainer:
    """Open the file the audio is taken from (any media file PyAV reads)."""
    if not path.is_file():
        raise InputError(f"Cannot take audio from {path}: the file does not exist.")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"Cannot take audio from {path}: it is not a readable media file.") from exc


class AudioPassthrough:
    """The first audio stream of ``source_path``, added to ``output`` and muxed up to a time on demand.

    Construct it before ``output.start_encoding()`` (it adds the stream); call :meth:`mux_until` after
    each video frame and :meth:`finish` after the last; :meth:`close` closes the source file.
    """

    def __init__(self, source_path: Path, output: av.container.OutputContainer, suffix: str) -> None:
        self.source = _open_source(Path(source_path))
        self.output = output
        self.packets: Iterator[av.Packet] | None = None
        self.pending: av.Packet | None = None
        self.transcode = False
        if not self.source.streams.audio:
            return
        audio_in = self.source.streams.audio[0]
        self.decoder = audio_in.codec_context
        name = audio_in.codec_context.codec.canonical_name
        allowed = _AUDIO_COPY[suffix]
        if allowed is None or name in allowed:
            self.stream = output.add_stream_from_template(audio_in)
        else:
            encoder = _AUDIO_TRANSCODE[suffix]
            rate = 48_000 if encoder == "libopus" else audio_in.codec_context.sample_rate
            self.stream = output.add_stream(encoder, rate=rate)
            self.stream.layout = audio_in.codec_context.layout
            self.transcode = True
        self.packets = self.source.demux(audio_in)

    def mux_until(self, until: Fraction) -> None:
        """Mux source audio packets that start before ``until`` seconds, keeping audio beside the video."""
        if self.packets is None:
            return
        while True:
            packet = self.pending or next(self.packets, None)
            self.pending = None
            if packet is None:
                break
            if (
                packet.pts is not None
                and packet.time_base is not None
                and packet.pts * packet.time_base >= until
            ):
                self.pending = packet
                break
            self._mux(packet)

    def finish(self, end: Fraction) -> None:
        """Mux the audio up to ``end`` seconds (the end of the last frame; the rest is cut) and flush."""
        if self.packets is None:
            return
        self.mux_until(end)
        if self.transcode:
            for decoded in self.decoder.decode(None):
                self.output.mux(self.stream.encode(decoded))
            self.output.mux(self.stream.encode(None))
        self.packets = None

    def close(self) -> None:
        self.source.close()

    def _mux(self, packet: av.Packet) -> None:
        if packet.dts is None:  # the empty packet demux yields at the end; decoders are flushed in finish
            return
        if self.transcode:
            for decoded in self.decoder.decode(packet):
                self.output.mux(self.stream.encode(decoded))
            return
        packet.stream = self.stream
        self.output.mux(packet)
