"""Media helpers of the scale-out tests (imported by name: the tests folders are not packages)."""

from pathlib import Path

import av


def two_keyframe_clip(source: Path, target: Path, gop: int = 45) -> Path:
    """``source`` re-encoded with a keyframe every ``gop`` frames (closed GOPs, as x264 writes them) and
    its audio packets copied, so the clip splits into ``frames / gop`` segments."""
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        video_in, audio_in = inp.streams.video[0], inp.streams.audio[0]
        video = out.add_stream("libx264", rate=video_in.average_rate)
        video.width, video.height = video_in.codec_context.width, video_in.codec_context.height
        video.pix_fmt = "yuv420p"
        video.time_base = video_in.time_base
        video.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "preset": "ultrafast"}
        audio = out.add_stream_from_template(audio_in)
        for frame in inp.decode(video_in):
            frame.pict_type = 0  # let the encoder choose: keyframes only where the GOP says
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        inp.seek(0)
        for packet in inp.demux(audio_in):
            if packet.dts is not None:
                packet.stream = audio
                out.mux(packet)
    return target


def audio_packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [(p.pts, bytes(p)) for p in container.demux(container.streams.audio[0]) if p.size]
