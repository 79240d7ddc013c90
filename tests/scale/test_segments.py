"""media/segments.py on real media: keyframe cut points, one segment decoded alone, parts joined back."""

from pathlib import Path

import numpy as np
import pytest
from scale_media import audio_packets

from faceforge.errors import InputError
from faceforge.media.provenance import read_tag
from faceforge.media.segments import Segment, join_segments, plan_segments, read_segment
from faceforge.media.video import VideoWriter, probe_video, read_frames


def test_cut_points_are_the_keyframes_after_each_multiple(clip: Path, testdata: Path) -> None:
    assert plan_segments(clip, 0) == [Segment(0, 0, None, 0, 90)]
    two = plan_segments(clip, 1.0)
    assert [(s.first_frame, s.frames) for s in two] == [(0, 45), (45, 45)]
    assert two[0].end_pts == two[1].start_pts
    # talking_audio.mp4 has a keyframe every second: 2.5 s segments start at the 3rd, 5th, 8th one
    long = plan_segments(testdata / "talking_audio.mp4", 2.5)
    assert [s.first_frame for s in long] == [0, 90, 150, 240]
    assert sum(s.frames for s in long) == probe_video(testdata / "talking_audio.mp4").frame_count
    # no keyframe after 0 in this clip: one segment, whatever is asked
    assert len(plan_segments(testdata / "talking_audio_3s.mp4", 1.0)) == 1


def test_a_segment_decodes_alone_to_the_frames_of_a_full_decode(clip: Path) -> None:
    full = list(read_frames(clip))
    second = list(read_segment(clip, plan_segments(clip, 1.0)[1]))
    assert [f.index for f in second] == list(range(45, 90))
    for frame in second:
        assert frame.pts == full[frame.index].pts
        assert np.array_equal(frame.image, full[frame.index].image)


def test_a_segment_off_a_keyframe_decodes_from_the_keyframe_before_it(clip: Path) -> None:
    full = list(read_frames(clip))
    late = list(read_segment(clip, Segment(1, full[50].pts, None, 50, 40)))  # frame 50 is no keyframe
    assert [f.pts for f in late] == [f.pts for f in full[50:]]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(late, full[50:], strict=True))


def test_a_segment_that_does_not_decode_to_its_planned_frames_is_refused(clip: Path) -> None:
    start = list(read_frames(clip))[45].pts
    with pytest.raises(InputError, match="segment 1 decodes 45 frames instead of 30"):
        list(read_segment(clip, Segment(1, start, None, 45, 30)))


def test_joined_parts_keep_every_timestamp_and_the_audio_once(clip: Path, tmp_path: Path) -> None:
    info = probe_video(clip)
    parts = []
    for segment in plan_segments(clip, 1.0):
        part = tmp_path / f"part{segment.index}.mp4"
        with VideoWriter(part, info, preset="ultrafast") as writer:
            for frame in read_segment(clip, segment):
                writer.write(frame)
        parts.append(part)
    joined = tmp_path / "joined.mp4"
    assert join_segments(parts, joined, clip, info.fps, {"synthetic": True, "generator": "faceforge"}) == 90
    assert [f.pts for f in read_frames(joined)] == [f.pts for f in read_frames(clip)]
    assert audio_packets(joined) == audio_packets(clip)  # every packet, copied once, same timestamps
    assert read_tag(joined) == {"synthetic": True, "generator": "faceforge"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".faceforge-tmp-")]
