"""Extraction on the shared test media: counts, reference filter, identity groups, resume after a real
SIGKILL, clean after hand deletion, and the CLI's verbs and errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from faceforge.facesets.curate import clean_faceset, group_faces
from faceforge.facesets.extract import ExtractOptions, extract_faceset
from faceforge.facesets.store import FacesetStore
from faceforge.media.atomic import PAUSE_ENV

FACEFORGE = Path(sys.executable).parent / "faceforge"
CLIP = "talking_audio_3s.mp4"  # 90 frames, one face throughout
CHUNK = 32  # frames per commit: small, so that a kill lands between commits of this short clip


def _cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    return subprocess.run(
        [str(FACEFORGE), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
    )


def _snapshot(root: Path) -> tuple[list[tuple], dict[str, bytes]]:
    """Every face row (all columns but the row id) and every crop's bytes."""
    db = sqlite3.connect(root / "faceset.db")
    columns = [r[1] for r in db.execute("PRAGMA table_info(faces)") if r[1] != "id"]
    rows = db.execute(f"SELECT {', '.join(columns)} FROM faces ORDER BY key").fetchall()
    db.close()
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "faces").rglob("*.jpg"))}
    return rows, files


@pytest.fixture(scope="module")
def clip_faceset(tmp_path_factory, testdata: Path, analyser) -> Path:
    """The test clip extracted uninterrupted, with the options the CLI runs below use."""
    root = tmp_path_factory.mktemp("clip") / "set"
    report = extract_faceset([testdata / CLIP], root, ExtractOptions(chunk=CHUNK), analyser)
    assert report.faces_added == 90
    return root


def test_clip_gives_one_aligned_face_per_frame(clip_faceset: Path) -> None:
    with FacesetStore.open(clip_faceset) as store:
        faces = store.faces()
        assert [f.frame for f in faces] == list(range(90))
        face = faces[45]
        assert store.path_of(face).is_file() and face.file == f"faces/{face.key}.jpg"
        assert face.landmarks.shape == (478, 3) and face.mask.shape == (36, 2)
        assert face.embedding is not None and face.embedding.shape == (128,)
        # a followed face's identity comes from an earlier frame of its track, in its own chunk, at most 7
        # frames back (a new track, as at each chunk's start, computes its own)
        for f in faces:
            assert f.identity_frame is not None and 0 <= f.frame - f.identity_frame < 8
            assert f.identity_frame // CHUNK == f.frame // CHUNK
        assert faces[CHUNK].identity_frame == CHUNK
        assert len({f.identity_frame for f in faces}) < 90 / 3
        # one person: every embedding close to the mean, and a mostly frontal head
        vectors = np.stack([f.embedding for f in faces])
        assert np.linalg.norm(vectors - vectors.mean(axis=0), axis=1).max() < 0.6
        assert all(abs(f.yaw) < 35 for f in faces)
        (source,) = store.sources()
        assert source.done and source.next_frame == 90


@pytest.mark.slow
def test_killed_extract_resumes_to_the_same_faceset(
    clip_faceset: Path, testdata: Path, tmp_path: Path
) -> None:
    root = tmp_path / "killed"
    marker = tmp_path / "chunk-committed"
    env = {**os.environ, "OMP_NUM_THREADS": "2", PAUSE_ENV: f"after-chunk:{marker}"}
    args = [
        str(FACEFORGE),
        "faces",
        "extract",
        str(testdata / CLIP),
        "-o",
        str(root),
        "-q",
        "--chunk",
        str(CHUNK),
    ]
    # The extraction waits after its first committed chunk until the marker is deleted: the kill lands
    # between two commits at any machine speed.
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the extraction never committed a chunk"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    db = sqlite3.connect(f"file:{root / 'faceset.db'}?mode=ro", uri=True)
    progress, done = db.execute("SELECT next_frame, done FROM sources").fetchone()
    db.close()
    assert not done
    assert 0 < progress < 90, "the kill did not land mid-way through the clip"
    with FacesetStore.open(root) as store:
        (source,) = store.sources()
        assert not source.done and store.count() == source.next_frame < 90
    rerun = _cli("faces", "extract", testdata / CLIP, "-o", root, "-q", "--chunk", CHUNK)
    assert rerun.returncode == 0, rerun.stderr
    assert not list((root / "faces").rglob(".faceforge-tmp-*"))
    rows, files = _snapshot(root)
    want_rows, want_files = _snapshot(clip_faceset)
    assert len(rows) == 90 and rows == want_rows
    assert files == want_files
    again = _cli("faces", "extract", testdata / CLIP, "-o", root, "-q", "--chunk", CHUNK)  # nothing to add
    assert again.returncode == 0 and "0 faces added" in again.stderr and "1 already done" in again.stderr


def test_clean_drops_hand_deleted_crops(clip_faceset: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(clip_faceset, copy)  # a faceset is a movable folder
    gone = sorted((copy / "faces").glob("*.jpg"))[:3]
    for path in gone:
        path.unlink()
    result = _cli("faces", "clean", copy)
    assert result.returncode == 0, result.stderr
    assert "3 deleted crops dropped" in result.stderr
    with FacesetStore.open(copy) as store:
        assert store.count() == 87
        assert not {p.stem for p in gone} & {f.key for f in store.faces()}


def test_group_photos_give_the_faces_a_person_sees(tmp_path: Path, testdata: Path, analyser) -> None:
    report = extract_faceset(
        [testdata / "group_3faces.jpg", testdata / "group_6faces_dinner.jpg"],
        tmp_path / "g",
        analyser=analyser,
    )
    with FacesetStore.open(tmp_path / "g") as store:
        per_source = {s.name: sum(f.source_id == s.id for f in store.faces()) for s in store.sources()}
    assert per_source["group_3faces.jpg"] == 3
    assert 6 <= per_source["group_6faces_dinner.jpg"] <= 10  # 6 clear faces, ~4 small or turned away
    assert report.faces_added == sum(per_source.values())


def test_reference_keeps_only_that_person(tmp_path: Path, testdata: Path, analyser) -> None:
    report = extract_faceset(
        [testdata / "group_3faces.jpg"],
        tmp_path / "r",
        analyser=analyser,
        reference_photos=[testdata / "face_glasses_e.png"],  # the man in glasses, right of the photo
    )
    assert report.faces_added == 1 and report.rejected["other person"] == 2
    with FacesetStore.open(tmp_path / "r") as store:
        (face,) = store.faces()
        assert (face.box[0] + face.box[2]) / 2 > 1920 * 0.6


def test_collage_identity_groups_separate_the_four_people(tmp_path: Path, testdata: Path, analyser) -> None:
    extract_faceset([testdata / "group_collage_many.jpg"], tmp_path / "c", analyser=analyser)
    with FacesetStore.open(tmp_path / "c") as store:
        report = group_faces(store, "identity")
        faces = store.faces()
        # Ground truth by eye (face_index = size rank in the collage): S, D, J, W are the four men.
        truth = "JSWWDWDWDJSDDSSJWWSJDJSJ"
        assert len(faces) == len(truth) == 24
        assert report.groups == [6, 6, 6, 6]
        by_group: dict[int | None, set[str]] = {}
        for face in faces:
            by_group.setdefault(face.group_id, set()).add(truth[face.face_index])
        assert all(len(people) == 1 for people in by_group.values())
        assert len(by_group) == 4
        assert all(store.path_of(f).parent.name.startswith("group_") for f in faces)
        assert clean_faceset(store).rows_removed == 0


@pytest.mark.slow
def test_cli_stats_preview_and_bad_index(clip_faceset: Path, tmp_path: Path) -> None:
    stats = _cli("faces", "stats", clip_faceset, "--json")
    assert stats.returncode == 0, stats.stderr
    numbers = json.loads(stats.stdout)
    assert numbers["faces"] == 90 and numbers["identity_purity"] == 1.0
    sheet = tmp_path / "sheet.html"
    preview = _cli("faces", "preview", clip_faceset, "-o", sheet, "-q")
    assert preview.returncode == 0, preview.stderr
    page = sheet.read_text()
    assert "Pose coverage" in page and "data:image/jpeg;base64," in page and 'src="faces/' not in page
    png = _cli("faces", "preview", clip_faceset, "-o", tmp_path / "sheet.png", "-q")
    assert png.returncode == 0 and (tmp_path / "sheet.png").stat().st_size > 10_000
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "faceset.db").write_bytes(os.urandom(8192))
    result = _cli("faces", "stats", bad)
    assert result.returncode == 2
    assert "not a readable faceset index" in result.stderr and "Traceback" not in result.stderr


def test_a_reset_follower_finds_faces_as_a_fresh_one(testdata: Path, analyser, monkeypatch) -> None:
    """A chunk's faces may not depend on the chunks before it (a resumed extraction starts at a chunk
    with a fresh follower): after ``reset`` the follower scans the same detector tiles for new faces,
    and finds the same landmarks, as a new one. A 720p clip, so that there are tiles to rotate through."""
    from faceforge.analysis.following import FaceFollower
    from faceforge.analysis.smoothing import SmoothingOptions
    from faceforge.analysis.tracking import TrackingOptions
    from faceforge.media.video import read_frames

    frames = read_frames(testdata / "talking_audio.mp4")
    images = [next(frames).image for _ in range(24)]
    frames.close()
    detect = analyser.detector.detect
    scanned: list[list[int] | None] = []

    def recording(image, tiles=None):
        scanned.append(None if tiles is None else list(tiles))
        return detect(image, tiles=tiles)

    monkeypatch.setattr(analyser.detector, "detect", recording)

    def run(follower: FaceFollower, chunk: list[np.ndarray]) -> list[np.ndarray]:
        scanned.clear()
        return [f.landmarks for i, image in enumerate(chunk) for f in follower.faces(image, i / 30)]

    tracking = TrackingOptions(max_missed=0, smoothing=SmoothingOptions(enabled=False))  # as extraction's
    continued = FaceFollower(analyser, tracking, detect_every=4)
    fresh = FaceFollower(analyser, tracking, detect_every=4)
    try:
        run(continued, images[:12])
        continued.reset()
        after_reset, tiles_after_reset = run(continued, images[12:]), list(scanned)
        from_scratch, tiles_from_scratch = run(fresh, images[12:]), list(scanned)
    finally:
        continued.close()
        fresh.close()
    assert any(tiles for tiles in tiles_from_scratch), "the clip must exercise the tile rotation"
    assert tiles_after_reset == tiles_from_scratch
    assert len(after_reset) == len(from_scratch) == 12
    for a, b in zip(after_reset, from_scratch, strict=True):
        np.testing.assert_array_equal(a, b)
