"""Media helpers of the scale-out tests (imported by name: the tests folders are not packages)."""

from pathlib import Path

import av


def scene_cut_clip(source: Path, target: Path, frames: int = 60, gop: int = 30) -> Path:
    """The first ``frames`` frames of ``source`` at 640x360, re-encoded with a keyframe every ``gop``
    frames (closed GOPs, as x264 writes them), and its audio packets of that time copied."""
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        video_in, audio_in = inp.streams.video[0], inp.streams.audio[0]
        video = out.add_stream("libx264", rate=video_in.average_rate)
        video.width, video.height = 640, 360
        video.pix_fmt = "yuv420p"
        video.time_base = video_in.time_base
        video.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "preset": "ultrafast"}
        audio = out.add_stream_from_template(audio_in)
        end = None
        for index, frame in enumerate(inp.decode(video_in)):
            if index == frames:
                end = frame.time
                break
            small = frame.reformat(width=640, height=360, format="yuv420p")
            small.pts, small.time_base = frame.pts, frame.time_base
            out.mux(video.encode(small))
        out.mux(video.encode(None))
        inp.seek(0)
        for packet in inp.demux(audio_in):
            if packet.dts is not None and (end is None or packet.pts * packet.time_base < end):
                packet.stream = audio
                out.mux(packet)
    return target


def audio_packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [(p.pts, bytes(p)) for p in container.demux(container.streams.audio[0]) if p.size]
