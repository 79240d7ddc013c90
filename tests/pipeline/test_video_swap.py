"""Video swaps on real clips: frames, timestamps and audio kept, the face swapped steadily, memory bounded.

Each swap runs once (module-scoped fixtures). Measured on the 2-core dev machine (printed with ``-s``):
talking_audio_3s swaps in ~3 s; sampled output faces sit 0.35-0.45 from the source and 0.7-0.8 from
the original face (faces of 100 px and more); tracemalloc peak of the run after the session is loaded
10-17 MB for 66 or 198 frames of 464x560 alike (one decoded frame is 0.78 MB, the 66-frame clip 51 MB).
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest
from media_probes import audio_span, frame_times

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.api import swap_video
from faceforge.evaluation import metrics
from faceforge.evaluation.memory import PeakMemory
from faceforge.media.images import read_image
from faceforge.media.provenance import read_tag
from faceforge.media.video import probe_video, read_frames
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.video import VideoReport, swap_video_file
from faceforge.types import Face

SOURCE = "face_frontal_b.jpg"  # a woman, into clips of a man (talking) and of a dancer
SAME_PERSON = 0.6
SAMPLE_EVERY = 6  # frames whose identity is checked (dlib costs ~0.1 s per face)
# Identity is judged on faces of at least this size: the clip's first 3 frames (the tail of a wide shot
# before a cut) hold a 61-px face, where dlib's distances are unreliable and the still-image pipeline
# scores alike (d_src 0.64, d_orig 0.61 for swap_image on frame 0).
MIN_IDENTITY_SIZE = 100


@pytest.fixture(scope="module")
def analyser() -> FaceAnalyser:
    with FaceAnalyser() as measuring:
        yield measuring


def largest(analyser: FaceAnalyser, image: np.ndarray) -> Face | None:
    faces = analyser.faces(image)
    return faces[0] if faces else None


@dataclass(frozen=True)
class VideoSwap:
    target: Path
    output: Path
    report: VideoReport
    target_faces: list[Face | None]  # per frame, measured on the original
    output_faces: list[Face | None]  # per frame, measured on the swap
    d_source: dict[int, float]  # sampled frame -> identity distance of the output face to the source
    d_original: dict[int, float]  # ... and to the original face of that frame
    changed: list[float | None]  # per frame with a face: fraction of its box's pixels that changed


@pytest.fixture(scope="module")
def talking(testdata: Path, analyser: FaceAnalyser, tmp_path_factory) -> VideoSwap:
    target = testdata / "talking_audio_3s.mp4"
    output = tmp_path_factory.mktemp("talking") / "swapped.mp4"
    report = swap_video(testdata / SOURCE, target, output)
    source = analyser.embed(read_image(testdata / SOURCE), analyser.faces(read_image(testdata / SOURCE))[:1])
    source_vector = source[0].embedding
    target_faces, output_faces, d_source, d_original, changed = [], [], {}, {}, []
    for before, after in zip(read_frames(target), read_frames(output), strict=True):
        face_before, face_after = largest(analyser, before.image), largest(analyser, after.image)
        target_faces.append(face_before)
        output_faces.append(face_after)
        if face_before is None:
            changed.append(None)
        else:
            x0, y0, x1, y1 = np.rint(face_before.box).astype(int)
            region = (slice(y0, y1), slice(x0, x1))
            diff = np.abs(after.image[region].astype(np.int16) - before.image[region]).max(axis=2)
            changed.append(float((diff > 8).mean()))
        if (
            before.index % SAMPLE_EVERY == 0
            and face_before is not None
            and face_after is not None
            and face_before.size >= MIN_IDENTITY_SIZE
        ):
            (a,) = analyser.embed(after.image, [face_after])
            (b,) = analyser.embed(before.image, [face_before])
            d_source[before.index] = float(analyser.identity.distance(a.embedding, source_vector))
            d_original[before.index] = float(analyser.identity.distance(a.embedding, b.embedding))
    print(f"\n{report}")
    print("d_src", {k: round(v, 3) for k, v in d_source.items()})
    print("d_orig", {k: round(v, 3) for k, v in d_original.items()})
    print("changed fraction of the face box: min", min(c for c in changed if c is not None))
    return VideoSwap(target, output, report, target_faces, output_faces, d_source, d_original, changed)


def test_frame_count_kept(talking: VideoSwap) -> None:
    assert talking.report.frames == 90
    assert probe_video(talking.output).frame_count == 90
    assert len(talking.output_faces) == 90


def test_every_timestamp_kept(talking: VideoSwap) -> None:
    assert frame_times(talking.output) == frame_times(talking.target)


def test_duration_within_one_frame(talking: VideoSwap) -> None:
    before, after = probe_video(talking.target), probe_video(talking.output)
    assert after.fps == before.fps
    assert abs(after.duration - before.duration) <= 1 / float(before.fps)
    assert (after.width, after.height) == (before.width, before.height)


def test_audio_kept(talking: VideoSwap) -> None:
    before, after = audio_span(talking.target), audio_span(talking.output)
    assert before is not None and after is not None
    assert after[0] == before[0] == "aac"
    print(f"\naudio end: target {before[1]:.4f} s, output {after[1]:.4f} s")
    assert abs(after[1] - before[1]) <= 0.05


def test_faces_swapped_in_most_frames(talking: VideoSwap) -> None:
    assert talking.report.frames_swapped >= 0.9 * talking.report.frames
    assert talking.report.faces_swapped >= talking.report.frames_swapped


def test_sampled_frames_show_source_identity(talking: VideoSwap) -> None:
    assert len(talking.d_source) >= 0.8 * len(range(0, 90, SAMPLE_EVERY))
    for index, d_source in talking.d_source.items():
        assert d_source < talking.d_original[index], index
    assert np.median(list(talking.d_source.values())) < SAME_PERSON


def test_no_frame_reverts_to_the_original_face(talking: VideoSwap) -> None:
    """Wherever the original frame has a face, that face was replaced (every frame), and the output face is
    not the original person (sampled frames)."""
    assert all(talking.output_faces[i] is not None for i, f in enumerate(talking.target_faces) if f)
    for index, fraction in enumerate(talking.changed):
        assert fraction is None or fraction > 0.3, (index, fraction)
    for index, d_original in talking.d_original.items():
        assert d_original > SAME_PERSON, (index, d_original)


def _jitter(faces: list[Face | None], same_shot: list[bool]) -> float:
    """Median landmark acceleration |p[t+1] - 2 p[t] + p[t-1]| over face size, within shots."""
    values = []
    for t in range(1, len(faces) - 1):
        prev, cur, nxt = faces[t - 1], faces[t], faces[t + 1]
        if prev is None or cur is None or nxt is None or not (same_shot[t] and same_shot[t + 1]):
            continue
        accel = nxt.points[:468] - 2 * cur.points[:468] + prev.points[:468]
        values.append(float(np.linalg.norm(accel, axis=1).mean()) / cur.size)
    assert len(values) > 0.8 * len(faces)
    return float(np.median(values))


def test_swapped_face_is_steady(talking: VideoSwap) -> None:
    """The clip's cut after frame 2 (61-px face to a 168-px close-up) is left out of both measures."""
    faces = talking.target_faces
    same_shot = [False] + [
        a is not None and b is not None and 0.7 < b.size / a.size < 1.4 for a, b in pairwise(faces)
    ]
    assert same_shot.count(False) <= 2
    before, after = _jitter(talking.target_faces, same_shot), _jitter(talking.output_faces, same_shot)
    print(f"\nlandmark jitter: target {before:.5f}, output {after:.5f}, ratio {after / before:.2f}")
    assert after <= 1.5 * before


def test_swapped_face_follows_the_head(talking: VideoSwap) -> None:
    for before, after in zip(talking.target_faces, talking.output_faces, strict=True):
        if before is not None and after is not None:
            assert np.abs(after.box - before.box).max() <= 0.1 * before.size


def test_output_head_pose_follows_the_target(talking: VideoSwap) -> None:
    """Issue 11's video bar: mean head-pose error (mean of |yaw|, |pitch|, |roll| differences) <= 2 degrees,
    over every frame where both the target and the output have a face."""
    errors = [
        float(metrics.pose_error(after.landmarks, before.landmarks).mean())
        for before, after in zip(talking.target_faces, talking.output_faces, strict=True)
        if before is not None and after is not None
    ]
    assert len(errors) >= 0.9 * len(talking.target_faces)
    print(f"\npose error: mean {np.mean(errors):.2f} deg, max {np.max(errors):.2f} deg")
    assert np.mean(errors) <= 2.0


def test_appearance_flicker_close_to_the_target(talking: VideoSwap) -> None:
    """Issue 11's video bar: the frame-to-frame change of the face's mean grey level (measured in the
    target's face region, as ``faceforge evaluate``'s flicker ratio is) is at most 10 % above the
    target's own."""
    regions = [face.landmarks if face is not None else None for face in talking.target_faces]
    target_means, output_means = [], []
    for before, after, landmarks in zip(
        read_frames(talking.target), read_frames(talking.output), regions, strict=True
    ):
        target_means.append(None if landmarks is None else metrics.region_mean(before.image, landmarks))
        output_means.append(None if landmarks is None else metrics.region_mean(after.image, landmarks))
    target_flicker, output_flicker = metrics.flicker(target_means), metrics.flicker(output_means)
    ratio = metrics.ratio(output_flicker, target_flicker)
    residual = metrics.residual_flicker(output_means, target_means)
    print(
        f"\nflicker: target {target_flicker:.3f}, output {output_flicker:.3f}, ratio {ratio:.3f}, "
        f"residual {residual:.3f}"
    )
    assert ratio <= 1.10


def test_video_carries_provenance_tag(talking: VideoSwap) -> None:
    tag = read_tag(talking.output)
    assert tag is not None and tag["synthetic"] is True and tag["kind"] == "face-swap"
    assert read_tag(talking.target) is None


def test_no_temporary_file_left(talking: VideoSwap) -> None:
    assert [p.name for p in talking.output.parent.iterdir()] == [talking.output.name]


# ----- no audio, and memory that does not grow with the video's length


def concatenate(path: Path, times: int, output: Path) -> int:
    """``path`` played ``times`` times in a row, re-encoded (no audio); returns the frame count."""
    with av.open(str(path)) as source:
        stream = source.streams.video[0]
        images = [frame.to_ndarray(format="rgb24") for frame in source.decode(stream)]
        rate = stream.average_rate
    with av.open(str(output), mode="w") as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height = images[0].shape[1], images[0].shape[0]
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "20"}
        for image in images * times:
            out.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(video.encode(None))
    return len(images) * times


@dataclass(frozen=True)
class TracedRun:
    output: Path
    report: VideoReport
    peak: int  # bytes, tracemalloc
    rss_growth_mb: float  # resident memory (native allocations too: codecs, MediaPipe), peak over start


def traced_swap(source: Path, target: Path, output: Path) -> TracedRun:
    """Peak Python-visible allocation and resident-memory growth of the video run itself, after the
    session (models, source) is loaded: that one-time cost does not depend on the video."""
    with SwapSession([[source]]) as session:
        tracemalloc.start()
        try:
            with PeakMemory() as memory:
                report = swap_video_file(session, target, output)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return TracedRun(output, report, peak, memory.growth_mb)


@pytest.fixture(scope="module")
def silent(testdata: Path, tmp_path_factory) -> TracedRun:
    out = tmp_path_factory.mktemp("silent") / "swapped.mp4"
    return traced_swap(testdata / SOURCE, testdata / "short_noaudio_small.mp4", out)


@pytest.fixture(scope="module")
def silent_three_times(testdata: Path, tmp_path_factory) -> TracedRun:
    folder = tmp_path_factory.mktemp("silent3")
    long_clip = folder / "three_times.mp4"
    assert concatenate(testdata / "short_noaudio_small.mp4", 3, long_clip) == 198
    return traced_swap(testdata / SOURCE, long_clip, folder / "swapped.mp4")


def test_no_audio_in_no_audio_out(silent: TracedRun, testdata: Path) -> None:
    assert audio_span(testdata / "short_noaudio_small.mp4") is None
    assert audio_span(silent.output) is None
    info = probe_video(silent.output)
    assert not info.has_audio
    assert info.frame_count == silent.report.frames == 66
    assert frame_times(silent.output) == frame_times(testdata / "short_noaudio_small.mp4")
    assert silent.report.frames_swapped >= 0.9 * 66


def test_memory_does_not_grow_with_video_length(silent: TracedRun, silent_three_times: TracedRun) -> None:
    frame_bytes = 464 * 560 * 3
    assert silent_three_times.report.frames == 198
    print(
        f"\ntracemalloc peak: 66 frames {silent.peak / 1e6:.1f} MB, 198 frames "
        f"{silent_three_times.peak / 1e6:.1f} MB (one frame {frame_bytes / 1e6:.2f} MB); RSS growth: "
        f"{silent.rss_growth_mb:.1f} and {silent_three_times.rss_growth_mb:.1f} MiB"
    )
    # Resident memory counts what tracemalloc cannot see (decoder and encoder buffers, MediaPipe): the
    # longer run (after the first warmed the allocators; measured 62 MiB) may not grow by its 198 frames
    # (146 MiB), which holding them in native memory would add on top.
    assert silent_three_times.rss_growth_mb < 198 * frame_bytes / 2**20
    # Three times the frames may not add more than the queues' worth (decode queue, batch, worker queue:
    # how full they get depends on which thread runs ahead on a busy machine), nowhere near 132 frames.
    assert silent_three_times.peak - silent.peak < 16 * frame_bytes
    # Far below holding the clip: the queues and batch hold some 20 frames at most.
    assert silent.peak < 0.5 * 66 * frame_bytes
    assert silent_three_times.peak < 0.2 * 198 * frame_bytes
