"""Video probing, threaded reading and writing: timestamps, audio, provenance and clean failure."""

from __future__ import annotations

import gc
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_probes import audio_span, frame_times

import faceforge.media.reader as reader_module
from faceforge.errors import InputError, OutputError, UnsupportedFormatError
from faceforge.media import (
    VideoFrame,
    VideoInfo,
    VideoWriter,
    is_video_path,
    make_tag,
    probe_video,
    read_frames,
    read_tag,
)

FAST = {"preset": "ultrafast"}


def _media_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in ("faceforge-decode", "faceforge-encode")]


def _info(width: int, height: int, fps: int = 25, time_base: Fraction = Fraction(1, 25)) -> VideoInfo:
    return VideoInfo(
        width=width,
        height=height,
        fps=Fraction(fps),
        time_base=time_base,
        frame_count=0,
        duration=0.0,
        codec="h264",
        has_audio=False,
        audio_codec=None,
        sample_rate=None,
        channels=None,
        container="mp4",
    )


def _pattern(index: int, height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(x * 7 + index * 9) % 256, (y * 5) % 256, np.full_like(x, 128)], axis=2).astype(np.uint8)


# ----- probing


def test_probe_with_audio(testdata: Path) -> None:
    info = probe_video(testdata / "talking_audio_3s.mp4")
    assert (info.width, info.height, info.fps, info.frame_count) == (640, 360, Fraction(30), 90)
    assert info.duration == pytest.approx(3.0, abs=0.01)
    assert info.codec == "h264"
    assert (info.has_audio, info.audio_codec, info.sample_rate, info.channels) == (True, "aac", 48000, 2)
    assert "mp4" in info.container


def test_probe_without_audio(testdata: Path) -> None:
    info = probe_video(testdata / "short_noaudio_small.mp4")
    assert (info.width, info.height, info.fps, info.frame_count) == (464, 560, Fraction(25), 66)
    assert not info.has_audio and info.audio_codec is None and info.sample_rate is None


def test_probe_mp3_in_mp4(testdata: Path) -> None:
    info = probe_video(testdata / "multi_people_audio.mp4")
    assert info.audio_codec == "mp3" and info.frame_count == 303


def test_probe_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"broken\.mp4"):
        probe_video(path)


def test_probe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        probe_video(tmp_path / "nothing.mp4")


def test_probe_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4800), np.float32), format="flt", layout="mono")
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            container.mux(packet)
        container.mux(stream.encode(None))
    with pytest.raises(InputError, match="no video stream"):
        probe_video(path)


def test_is_video_path() -> None:
    assert is_video_path(Path("a.MP4")) and is_video_path(Path("b.webm")) and is_video_path(Path("c.avi"))
    assert not is_video_path(Path("d.png"))


# ----- reading


def test_read_frames(testdata: Path) -> None:
    frames = list(read_frames(testdata / "short_noaudio_small.mp4"))
    assert [f.index for f in frames] == list(range(66))
    assert all(f.image.shape == (560, 464, 3) and f.image.dtype == np.uint8 for f in frames)
    assert all(f.time_base == frames[0].time_base for f in frames)
    assert [f.pts * f.time_base for f in frames] == frame_times(testdata / "short_noaudio_small.mp4")
    assert not _media_threads()


def test_early_close_stops_the_thread(testdata: Path) -> None:
    frames = read_frames(testdata / "talking_audio_3s.mp4", queue_size=2)
    for _ in range(3):
        next(frames)
    assert _media_threads()
    frames.close()
    assert not _media_threads()
    for frame in read_frames(testdata / "short_1080p_1s.mp4", queue_size=1):
        assert frame.index == 0
        break
    gc.collect()
    assert not _media_threads()


def test_decode_error_reaches_the_consumer(testdata: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decoder failure in the background thread arrives as InputError, after the good frames."""
    real_open = reader_module.open_input

    class FailingContainer:
        def __init__(self, container: av.container.InputContainer) -> None:
            self.inner = container
            self.streams = container.streams

        def decode(self, stream: av.VideoStream) -> object:
            for count, frame in enumerate(self.inner.decode(stream)):
                if count == 3:
                    raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
                yield frame

        def close(self) -> None:
            self.inner.close()

    monkeypatch.setattr(
        reader_module, "open_input", lambda path, max_pixels: FailingContainer(real_open(path, max_pixels))
    )
    seen = []
    with pytest.raises(InputError, match="corrupt at frame 3"):
        for frame in read_frames(testdata / "short_1080p_1s.mp4"):
            seen.append(frame.index)
    assert seen == [0, 1, 2]
    assert not _media_threads()


# ----- writing


def _round_trip(source: Path, out: Path, tag: dict[str, object] | None = None, **options: object) -> None:
    info = probe_video(source)
    with VideoWriter(out, info, source_path=source, tag=tag, **FAST, **options) as writer:
        for frame in read_frames(source):
            writer.write(frame)


def test_mp4_round_trip_keeps_frames_timestamps_audio_and_tag(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "talking_audio_3s.mp4"
    out = tmp_path / "out.mp4"
    tag = make_tag("0.1.0", "face-swap", {"swapper": "test"})
    _round_trip(source, out, tag=tag)
    before, after = probe_video(source), probe_video(out)
    assert after.frame_count == before.frame_count == 90
    assert frame_times(out) == frame_times(source)
    assert abs(after.duration - before.duration) <= 1 / float(before.fps)
    codec, end = audio_span(out)
    source_codec, source_end = audio_span(source)
    assert codec == source_codec == "aac"
    assert abs(end - source_end) < 0.05
    assert read_tag(out) == tag
    with av.open(str(out)) as container:
        assert container.metadata["comment"].startswith("Synthetic media")
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    assert not _media_threads()


def test_mkv_round_trip(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "talking_audio_3s.mp4"
    out = tmp_path / "out.mkv"
    tag = make_tag("0.1.0", "face-swap", {})
    _round_trip(source, out, tag=tag)
    info = probe_video(out)
    assert info.frame_count == 90  # Matroska has no frame count in the header: counted from packets
    assert info.audio_codec == "aac"
    assert read_tag(out) == tag
    # Matroska stores milliseconds and shifts all streams so the AAC priming is not negative.
    source_times, times = frame_times(source), frame_times(out)
    offset = times[0] - source_times[0]
    assert 0 <= offset <= Fraction(1, 30)
    assert all(abs(t - offset - s) <= Fraction(1, 1000) for s, t in zip(source_times, times, strict=True))


def test_webm_transcodes_audio_to_opus(testdata: Path, tmp_path: Path) -> None:
    info = probe_video(testdata / "talking_audio_3s.mp4")
    out = tmp_path / "out.webm"
    tag = make_tag("0.1.0", "face-swap", {})
    audio_source = testdata / "talking_audio_3s.mp4"
    with VideoWriter(out, info, source_path=audio_source, tag=tag, preset="ultrafast") as writer:
        for frame in read_frames(audio_source):
            writer.write(frame)
    result = probe_video(out)
    assert (result.codec, result.audio_codec, result.frame_count) == ("vp9", "opus", 90)
    assert result.sample_rate == 48000
    assert abs(audio_span(out)[1] - audio_span(audio_source)[1]) < 0.05
    assert read_tag(out) == tag


def test_mp3_audio_in_mp4_is_copied_and_cut_to_the_video(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "multi_people_audio.mp4"
    out = tmp_path / "out.mp4"
    info = probe_video(source)
    frames = read_frames(source)
    with VideoWriter(out, info, source_path=source, **FAST) as writer:
        for frame in frames:
            writer.write(frame)
            if frame.index == 29:
                break
    frames.close()
    codec, end = audio_span(out)
    assert codec == "mp3"
    assert probe_video(out).frame_count == 30
    # audio kept up to the end of the last frame (MP3 packets are 1152 samples, 26 ms at 44.1 kHz)
    assert 1.0 <= end < 1.0 + 0.03


def test_variable_frame_rate_keeps_exact_pts(tmp_path: Path) -> None:
    source = tmp_path / "vfr.mp4"
    stamps = [0, 40, 50, 120, 125, 200, 260, 270, 330, 400, 401, 480]
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        for index, pts in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(_pattern(index, 48, 64), format="rgb24")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    source_times = frame_times(source)
    assert source_times == [Fraction(s, 1000) for s in stamps]
    out = tmp_path / "out.mp4"
    _round_trip(source, out)
    assert frame_times(out) == source_times


def test_odd_size_is_padded_to_even(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, _info(33, 21), crf=0, **FAST) as writer:
        for index in range(5):
            writer.write(_pattern(index, 21, 33))
    info = probe_video(out)
    assert (info.width, info.height, info.frame_count) == (34, 22, 5)
    assert frame_times(out) == [Fraction(i, 25) for i in range(5)]  # bare arrays get pts at info.fps
    first = next(iter(read_frames(out)))
    assert np.abs(first.image[:21, :33].astype(int) - _pattern(0, 21, 33)).mean() < 3
    np.testing.assert_allclose(first.image[21, :33].astype(int), first.image[20, :33].astype(int), atol=6)


def test_gif_output(tmp_path: Path) -> None:
    out = tmp_path / "anim.gif"
    tag = make_tag("0.1.0", "face-swap", {})
    with VideoWriter(out, _info(40, 30, fps=10, time_base=Fraction(1, 10)), tag=tag) as writer:
        for index in range(6):
            writer.write(VideoFrame(index, index, Fraction(1, 10), _pattern(index, 30, 40)))
    frames = list(read_frames(out))
    assert len(frames) == 6
    assert [f.pts * f.time_base for f in frames] == [Fraction(i, 10) for i in range(6)]
    assert np.abs(frames[2].image.astype(int) - _pattern(2, 30, 40)).mean() < 8
    assert read_tag(out) == tag


def test_exception_mid_write_leaves_nothing(testdata: Path, tmp_path: Path) -> None:
    source = testdata / "talking_audio_3s.mp4"
    info = probe_video(source)
    with (
        pytest.raises(RuntimeError, match="swap failed"),
        VideoWriter(tmp_path / "out.mp4", info, source_path=source, **FAST) as writer,
    ):
        for frame in read_frames(source):
            writer.write(frame)
            if frame.index == 10:
                raise RuntimeError("swap failed")
    assert list(tmp_path.iterdir()) == []
    assert not _media_threads()


def test_writer_dropped_without_close_leaves_nothing(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "out.mp4", _info(32, 32), **FAST)
    for index in range(3):
        writer.write(_pattern(index, 32, 32))
    del writer
    gc.collect()
    assert list(tmp_path.iterdir()) == []
    assert not _media_threads()


def test_no_frames_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="no frames"), VideoWriter(tmp_path / "out.mp4", _info(32, 32)):
        pass
    assert list(tmp_path.iterdir()) == []


def test_bad_frames_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shape"), VideoWriter(tmp_path / "out.mp4", _info(32, 32)) as writer:
        writer.write(np.zeros((16, 16, 3), np.uint8))
    with (
        pytest.raises(ValueError, match="increase"),
        VideoWriter(tmp_path / "out.mp4", _info(32, 32)) as writer,
    ):
        writer.write(VideoFrame(0, 5, Fraction(1, 25), _pattern(0, 32, 32)))
        writer.write(VideoFrame(1, 5, Fraction(1, 25), _pattern(1, 32, 32)))
    assert list(tmp_path.iterdir()) == []


def test_unsupported_outputs(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"out\.avi"):
        VideoWriter(tmp_path / "out.avi", _info(32, 32))
    with pytest.raises(UnsupportedFormatError, match="WebM"):
        VideoWriter(tmp_path / "out.webm", _info(32, 32), codec="libx264")
    with pytest.raises(OutputError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "out.mp4", _info(32, 32))
    assert list(tmp_path.iterdir()) == []
