"""faceforge batch on a real local Ray instance (2 CPUs, started and stopped here): the outputs equal the
one-machine runs, work spreads over the workers, and a failing input is reported while the rest go on."""

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import ray
from scale_media import audio_packets, scene_cut_clip

from faceforge.api import swap_path
from faceforge.config import SwapConfig
from faceforge.errors import InputError
from faceforge.media.images import read_image
from faceforge.media.provenance import read_tag
from faceforge.media.video import read_frames
from faceforge.scale.batch import batch_swap
from faceforge.scale.jobs import JOB_NAME, read_tasks
from faceforge.scale.runner import Cluster
from faceforge.scale.workers import SwapSpec


@pytest.fixture(scope="module")
def local_ray():
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR
    )
    yield
    ray.shutdown()


def _untimed(tag: dict | None) -> dict:
    assert tag is not None and tag["synthetic"] is True
    return {key: value for key, value in tag.items() if key != "created"}


@pytest.mark.slow
def test_folder_batch_equals_the_local_folder_swap(local_ray, testdata: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("face_frontal_b.jpg", "face_lowkey_c.jpg", "face_profile_f.jpg"):
        shutil.copy(testdata / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"not a picture")
    source = testdata / "face_frontal_a.jpg"

    report = batch_swap([folder], tmp_path / "ray", SwapSpec([[source]], SwapConfig()), Cluster(workers=2))
    local = swap_path([[source]], folder, tmp_path / "local", SwapConfig())

    assert sorted(Path(p).name for p in report.done) == ["face_frontal_b.jpg", "face_lowkey_c.jpg"]
    failed = {Path(key).name: reason for key, reason in report.failed}
    assert failed.keys() == {"face_profile_f.jpg", "broken.jpg"}  # each reported, the others finished
    assert "declined" in failed["face_profile_f.jpg"]
    assert "not a readable image" in failed["broken.jpg"]
    assert sorted(p.name for p in local.swapped) == ["face_frontal_b.jpg", "face_lowkey_c.jpg"]
    for name in ("face_frontal_b.jpg", "face_lowkey_c.jpg"):
        ours, theirs = tmp_path / "ray" / name, tmp_path / "local" / name
        assert np.array_equal(read_image(ours), read_image(theirs))
        assert _untimed(read_tag(ours)) == _untimed(read_tag(theirs))  # equal but for the creation time
    rows = {Path(row.key).name: row for row in read_tasks(tmp_path / "ray" / JOB_NAME)}
    assert {name: row.state for name, row in rows.items()} == {
        "face_frontal_b.jpg": "done",
        "face_lowkey_c.jpg": "done",
        "face_profile_f.jpg": "failed",
        "broken.jpg": "failed",
    }
    assert rows["broken.jpg"].error == failed["broken.jpg"]

    # the rerun (in this process: it only retries the two failures) skips the done ones
    again = batch_swap([folder], tmp_path / "ray", SwapSpec([[source]], SwapConfig()), Cluster(workers=0))
    assert again.done == [] and len(again.skipped) == 2 and len(again.failed) == 2  # only failures retried
    rows = {Path(row.key).name: row for row in read_tasks(tmp_path / "ray" / JOB_NAME)}
    assert rows["face_frontal_b.jpg"].attempts == 1 and rows["broken.jpg"].attempts == 2


@pytest.mark.slow
def test_two_segment_video_equals_the_plain_run_frame_for_frame(
    local_ray, clip: Path, testdata: Path, tmp_path: Path
) -> None:
    """Encoded losslessly (x264 CRF 0), the two-segment job on two workers decodes to exactly the frames of
    ``faceforge swap`` on the whole clip: same count, same pts, same pixels, the audio bytes copied."""
    from faceforge.config import VideoOptions
    from faceforge.pipeline.session import SwapSession
    from faceforge.pipeline.video import swap_video_file

    config = SwapConfig(video=VideoOptions(crf=0, preset="ultrafast"))
    spec = SwapSpec([[testdata / "face_frontal_a.jpg"]], config)
    seen: list[tuple[int, int]] = []
    on_ray = batch_swap(
        [clip], tmp_path / "ray", spec, Cluster(workers=2), 0.5, progress=lambda *p: seen.append(p)
    )
    with SwapSession(spec.sources, config) as session:
        swap_video_file(session, clip, tmp_path / "plain.mp4")
    assert on_ray.complete
    # one bar over the whole job: never backwards, ends at every frame
    assert seen[-1] == (60, 60) and [d for d, _ in seen] == sorted(d for d, _ in seen)

    ours = list(read_frames(tmp_path / "ray" / "clip.mp4"))
    plain = list(read_frames(tmp_path / "plain.mp4"))
    source_frames = list(read_frames(clip))
    assert len(ours) == len(plain) == len(source_frames) == 60
    assert [f.pts for f in ours] == [f.pts for f in plain] == [f.pts for f in source_frames]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(ours, plain, strict=True))
    assert audio_packets(tmp_path / "ray" / "clip.mp4") == audio_packets(tmp_path / "plain.mp4")
    assert audio_packets(tmp_path / "ray" / "clip.mp4") == audio_packets(clip)  # copied once, whole
    assert not (tmp_path / "ray" / ".faceforge-parts").exists()  # the parts are gone once joined

    segments = [row for row in read_tasks(tmp_path / "ray" / JOB_NAME) if "#segment" in row.key]
    assert len(segments) == 2 and all(row.state == "done" for row in segments)
    assert len({row.worker for row in segments}) == 2  # one segment on each worker
    assert [row.detail["frames"] for row in segments] == [22, 38]


@pytest.mark.slow
def test_keyframe_cuts_split_one_shot_with_exact_timing_and_nearly_equal_pixels(
    local_ray, testdata: Path, tmp_path: Path
) -> None:
    """talking_audio_3s is one shot (no scene cut): --cuts scenes keeps it one task, --cuts keyframes
    cuts it at its first keyframe after 1 s (frame 33 here). Losslessly encoded, the frames before the
    cut equal the plain run's bit for bit; after it FaceMesh's tracking state differs, so pixels differ
    slightly (0.04-0.05 grey levels mean measured, docs/scale-out.md), but the frame count, every pts
    and every audio byte are the plain run's."""
    from faceforge.config import VideoOptions
    from faceforge.pipeline.session import SwapSession
    from faceforge.pipeline.video import swap_video_file
    from faceforge.scale import CutKind
    from faceforge.scale.cuts import KEYFRAME_RUN_IN, keyframe_segments
    from faceforge.scale.plan import expand, swap_plan

    shot = scene_cut_clip(testdata / "talking_audio_3s.mp4", tmp_path / "shot.mp4")
    cut = keyframe_segments(shot, 1.0)[1].first_frame
    assert [t.action for t in swap_plan(expand([shot]), tmp_path / "plan", 1.0).tasks] == ["video"]
    assert [t.run_in for t in swap_plan(expand([shot]), tmp_path / "plan", 1.0, CutKind.keyframes).tasks] == [
        KEYFRAME_RUN_IN
    ] * 2
    config = SwapConfig(video=VideoOptions(crf=0, preset="ultrafast"))
    spec = SwapSpec([[testdata / "face_frontal_a.jpg"]], config)
    report = batch_swap([shot], tmp_path / "ray", spec, Cluster(workers=2), 1.0, cuts=CutKind.keyframes)
    assert report.complete
    segments = [row for row in read_tasks(tmp_path / "ray" / JOB_NAME) if "#segment" in row.key]
    assert [row.detail["frames"] for row in segments] == [cut, 60 - cut]
    with SwapSession(spec.sources, config) as session:
        swap_video_file(session, shot, tmp_path / "plain.mp4")

    ours = list(read_frames(tmp_path / "ray" / "shot.mp4"))
    plain = list(read_frames(tmp_path / "plain.mp4"))
    assert len(ours) == len(plain) == 60
    assert [f.pts for f in ours] == [f.pts for f in plain] == [f.pts for f in read_frames(shot)]
    assert audio_packets(tmp_path / "ray" / "shot.mp4") == audio_packets(tmp_path / "plain.mp4")
    assert all(np.array_equal(a.image, b.image) for a, b in zip(ours[:cut], plain[:cut], strict=True))
    after = [
        np.abs(a.image.astype(np.int16) - b.image).mean()
        for a, b in zip(ours[cut:], plain[cut:], strict=True)
    ]
    assert max(after) < 0.5 and np.mean(after) < 0.2


@pytest.mark.slow
def test_extract_on_workers_merges_into_one_faceset_like_a_local_extract(
    local_ray, testdata: Path, tmp_path: Path
) -> None:
    from faceforge.facesets.extract import ExtractOptions, extract_faceset
    from faceforge.facesets.store import FacesetStore
    from faceforge.scale.batch import batch_extract
    from faceforge.scale.workers import ExtractSpec

    inputs = [
        testdata / "short_noaudio_small.mp4",
        testdata / "face_frontal_b.jpg",
        testdata / "group_3faces.jpg",
    ]
    options = ExtractOptions(size=128, every=6)
    report = batch_extract(inputs, tmp_path / "ray", ExtractSpec(options), Cluster(workers=2))
    extract_faceset(inputs, tmp_path / "local", options)
    assert report.complete and report.faces_added > 0

    with FacesetStore.open(tmp_path / "ray") as ours, FacesetStore.open(tmp_path / "local") as theirs:
        assert [(s.id, s.path, s.done) for s in ours.sources()] == [
            (s.id, s.path, s.done) for s in theirs.sources()
        ]
        mine, local = ours.faces(), theirs.faces()
        assert [f.key for f in mine] == [f.key for f in local] and len(mine) == report.faces_added
        for a, b in zip(mine, local, strict=True):
            assert ours.path_of(a).read_bytes() == theirs.path_of(b).read_bytes()
            assert np.allclose(a.embedding, b.embedding, atol=1e-5)
            assert np.array_equal(a.landmarks, b.landmarks)
    assert not (tmp_path / "ray" / ".faceforge-shards").exists()  # merged shards are removed

    again = batch_extract(inputs, tmp_path / "ray", ExtractSpec(options), Cluster(workers=2))
    assert again.faces_added == 0 and len(again.skipped) == 3  # nothing extracted or merged twice


def test_a_worker_the_cluster_cannot_fit_is_refused(local_ray, testdata: Path, tmp_path: Path) -> None:
    spec = SwapSpec([[testdata / "face_frontal_a.jpg"]], SwapConfig())
    with pytest.raises(
        InputError, match="A worker needs 1 CPUs and 1 GPUs, but the Ray cluster has 2 CPUs and 0 GPUs"
    ):
        batch_swap([testdata / "face_frontal_b.jpg"], tmp_path / "out", spec, Cluster(workers=1, gpus=1.0))
    assert not (tmp_path / "out" / "face_frontal_b.jpg").exists()
