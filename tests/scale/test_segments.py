"""Segments of a video on real media: cut at scene cuts, decoded alone, rendered as the plain run renders
them, and their parts joined back with every timestamp and the audio once."""

from pathlib import Path

import numpy as np
import pytest
from scale_media import audio_packets

from faceforge.config import SwapConfig, VideoOptions
from faceforge.errors import InputError
from faceforge.media.provenance import read_tag
from faceforge.media.segments import Segment, frame_span, join_segments, read_segment
from faceforge.media.video import VideoWriter, probe_video, read_frames
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.stream import assigned_batches, open_frames
from faceforge.scale.cuts import scene_segments
from faceforge.scale.video import rendered_segment


@pytest.mark.slow
def test_cut_points_are_the_scene_cuts_after_each_multiple(clip: Path, testdata: Path) -> None:
    assert scene_segments(clip, 0) == [Segment(0, 0, None, 0, 60)]
    two = scene_segments(clip, 0.5)
    assert [(s.first_frame, s.frames) for s in two] == [(0, 22), (22, 38)]
    assert two[0].end_pts == two[1].start_pts
    # talking_audio.mp4 cuts to another shot at frames 22 and 93: 2.5 s segments start at 0 and 93 only
    long = scene_segments(testdata / "talking_audio.mp4", 2.5)
    assert [s.first_frame for s in long] == [0, 93]
    assert sum(s.frames for s in long) == probe_video(testdata / "talking_audio.mp4").frame_count
    # one shot, no cut: one segment, whatever is asked
    assert len(scene_segments(testdata / "talking_audio_3s.mp4", 1.0)) == 1


def test_a_segment_off_a_keyframe_decodes_to_the_frames_of_a_full_decode(clip: Path) -> None:
    full = list(read_frames(clip))
    second = list(read_segment(clip, scene_segments(clip, 0.5)[1]))  # frame 22: no keyframe (0 and 30 are)
    assert [f.index for f in second] == list(range(22, 60))
    for frame in second:
        assert frame.pts == full[frame.index].pts
        assert np.array_equal(frame.image, full[frame.index].image)
    span = frame_span(clip, scene_segments(clip, 0.5)[0], 0, 24)  # a run-out of 2 frames after frame 21
    assert (span.first_frame, span.frames, span.end_pts) == (0, 24, full[24].pts)


def test_a_segment_that_does_not_decode_to_its_planned_frames_is_refused(clip: Path) -> None:
    start = list(read_frames(clip))[30].pts
    with pytest.raises(InputError, match="segment 1 decodes 30 frames instead of 20"):
        list(read_segment(clip, Segment(1, start, None, 30, 20)))


@pytest.mark.slow
def test_a_segment_renders_every_frame_as_the_plain_run_does(clip: Path, testdata: Path) -> None:
    """From the scene cut on, the follower's, selector's and compositor's state depend on the frames from
    the cut only: the segment's rendered frames equal the plain run's, bit for bit. Cut anywhere else
    (frame 50, inside the wide shot), the landmarks followed do not converge to the plain run's."""
    config = SwapConfig(video=VideoOptions(detect_every=10, batch_size=4))
    with SwapSession([[testdata / "face_frontal_a.jpg"]], config) as session:
        plain = {}
        for batch, chosen in assigned_batches(session, open_frames(session, clip)):
            for frame, result in zip(
                batch, session.engine.apply([f.image for f in batch], chosen), strict=True
            ):
                plain[frame.index] = result
        first, second = scene_segments(clip, 0.5)
        for segment in (first, second):
            rendered = list(rendered_segment(session, clip, segment))
            assert [f.index for f, _ in rendered] == list(
                range(segment.first_frame, segment.first_frame + segment.frames)
            )
            for frame, result in rendered:
                assert result.faces_swapped == plain[frame.index].faces_swapped
                assert np.array_equal(result.image, plain[frame.index].image), frame.index
        assert sum(plain[i].faces_swapped for i in range(22, 60)) > 30  # faces were swapped in the wide shot
        inside = Segment(1, list(read_frames(clip))[50].pts, None, 50, 10)  # runs in from frame 40
        off = [r for _, r in rendered_segment(session, clip, inside, run_in=1)]
        assert not any(np.array_equal(r.image, plain[50 + i].image) for i, r in enumerate(off))


def test_joined_parts_keep_every_timestamp_and_the_audio_once(clip: Path, tmp_path: Path) -> None:
    """The second part starts at frame 22 (0.7333 s), which its MP4 edit list rounds to the millisecond:
    the join puts each part back at its segment's first pts."""
    info = probe_video(clip)
    parts = []
    segments = scene_segments(clip, 0.5)
    for segment in segments:
        part = tmp_path / f"part{segment.index}.mp4"
        with VideoWriter(part, info, preset="ultrafast") as writer:
            for frame in read_segment(clip, segment):
                writer.write(frame)
        parts.append(part)
    joined = tmp_path / "joined.mp4"
    tag = {"synthetic": True, "generator": "faceforge"}
    starts = [segment.start_pts * info.time_base for segment in segments]
    assert join_segments(parts, joined, clip, info.fps, tag, starts) == 60
    assert [f.pts for f in read_frames(joined)] == [f.pts for f in read_frames(clip)]
    assert audio_packets(joined) == audio_packets(clip)  # every packet, copied once, same timestamps
    assert read_tag(joined) == tag
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".faceforge-tmp-")]
