"""The faceset index and curation on synthetic rows (no models): schema, errors, clean, group, sort."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from faceforge.errors import InputError, OptionError, OutputError
from faceforge.facesets.curate import (
    clean_faceset,
    find_duplicates,
    group_faces,
    remove_faces,
    select_faces,
    sort_faces,
)
from faceforge.facesets.rows import FaceRow, face_key, key_of
from faceforge.facesets.store import APPLICATION_ID, INDEX_NAME, SCHEMA_VERSION, FacesetStore
from faceforge.media.images import write_image


def _row(source_id: int, frame: int, embedding: np.ndarray, yaw: float = 0.0) -> FaceRow:
    key = face_key(source_id, frame, 0)
    return FaceRow(
        key=key,
        file=f"faces/{key}.png",
        source_id=source_id,
        frame=frame,
        face_index=0,
        time=frame / 30,
        box=np.array([10, 20, 110, 140], np.float32),
        score=0.9,
        face_size=120.0,
        landmarks=np.random.default_rng(frame).random((478, 3)).astype(np.float32),
        matrix=np.array([[1.0, 0, -10], [0, 1.0, -20]]),
        embedding=embedding.astype(np.float32),
        mask=np.zeros((36, 2), np.float32),
        sharpness=100.0 + frame,
        yaw=yaw,
        pitch=0.0,
        roll=0.0,
        brightness=50.0,
        colour_a=1.0,
        colour_b=2.0,
    )


@pytest.fixture
def store(tmp_path: Path):
    """A faceset with 12 faces of two synthetic identities, crops written as small PNGs."""
    rng = np.random.default_rng(0)
    people = [rng.normal(size=128), rng.normal(size=128)]
    people = [p / np.linalg.norm(p) for p in people]
    with FacesetStore.open(tmp_path / "set", create=True, info={"size": "32"}) as fs:
        source = fs.add_source(
            path="/nowhere/clip.mp4", name="clip.mp4", kind="video", size_bytes=1, mtime_ns=1,
            frame_count=12, options={},
        )  # fmt: skip
        rows = []
        for frame in range(12):
            person = people[frame % 2]
            embedding = person + rng.normal(scale=0.01, size=128)
            rows.append(_row(source.id, frame, embedding, yaw=-40.0 + 7 * frame))
            image = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            write_image(fs.root / rows[-1].file, image)
        fs.commit_faces([(source.id, rows, 12, True)])
        yield fs


def test_schema_is_versioned_wal_and_marked(store: FacesetStore) -> None:
    assert store.db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert store.info["format"] == "faceforge-faceset"
    assert store.info["size"] == "32"


def test_rows_round_trip_and_folder_moves(store: FacesetStore, tmp_path: Path) -> None:
    before = store.faces()
    assert len(before) == 12
    assert before[3].landmarks.shape == (478, 3) and before[3].matrix.shape == (2, 3)
    assert before[3].embedding is not None and before[3].embedding.shape == (128,)
    store.close()
    moved = tmp_path / "elsewhere"
    (tmp_path / "set").rename(moved)
    with FacesetStore.open(moved) as again:
        after = again.faces()
        assert [f.key for f in after] == [f.key for f in before]
        np.testing.assert_array_equal(after[3].landmarks, before[3].landmarks)
        assert all(again.path_of(f).is_file() for f in after)


def test_corrupt_and_foreign_indexes_give_clear_errors(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / INDEX_NAME).write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(InputError, match="not a readable faceset index"):
        FacesetStore.open(corrupt)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    db = sqlite3.connect(foreign / INDEX_NAME)
    db.execute("CREATE TABLE photos (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(InputError, match="not a faceforge faceset"):
        FacesetStore.open(foreign)
    with pytest.raises(InputError, match="not a faceforge faceset"):
        FacesetStore.open(foreign / INDEX_NAME, create=True)
    with pytest.raises(InputError, match="does not exist"):
        FacesetStore.open(tmp_path / "missing")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(OutputError, match="not empty"):
        FacesetStore.open(busy, create=True)


def test_newer_schema_is_refused(store: FacesetStore) -> None:
    store.db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(InputError, match="newer faceforge"):
        FacesetStore.open(store.root)


def test_clean_after_hand_deletion_and_moves(store: FacesetStore) -> None:
    faces = store.faces()
    store.path_of(faces[0]).unlink()  # deleted in a file browser
    mine = store.root / "faces" / "keepers"
    mine.mkdir()
    store.path_of(faces[1]).rename(mine / f"best_{faces[1].key}.png")  # moved and renamed by hand
    (store.root / "faces" / "stray.png").write_bytes(b"x")
    report = clean_faceset(store)
    assert (report.rows_removed, report.rows_moved) == (1, 1)
    assert report.orphans == ["faces/stray.png"]
    keys = {f.key: f.file for f in store.faces()}
    assert faces[0].key not in keys and len(keys) == 11
    assert keys[faces[1].key] == f"faces/keepers/best_{faces[1].key}.png"
    assert clean_faceset(store, remove_orphans=True).orphans_removed == 1
    assert (store.root / "removed" / "stray.png").exists()


def test_group_by_identity_then_keep_one_group(store: FacesetStore) -> None:
    report = group_faces(store, "identity")
    assert report.groups == [6, 6]
    for face in store.faces():
        assert face.file.startswith("faces/group_00") and store.path_of(face).is_file()
    first = select_faces(store, groups=[1])
    assert {f.frame % 2 for f in first} == {0}
    remove_faces(store, [f for f in store.faces() if f.id not in {g.id for g in first}])
    assert store.count() == 6 and len(list((store.root / "removed").iterdir())) == 6
    with pytest.raises(OptionError, match="No group 9"):
        select_faces(store, groups=[9])


def test_sort_renames_with_rank_and_clean_still_finds_them(store: FacesetStore) -> None:
    sort_faces(store, "yaw")
    names = sorted(Path(f.file).name for f in store.faces())
    assert names[0].startswith("00000_") and key_of(names[0]) == face_key(1, 0, 0)
    sort_faces(store, "sharpness")  # sharpest (highest frame) first; the old rank prefix is replaced
    first = min(store.faces(), key=lambda f: f.file)
    assert first.frame == 11 and Path(first.file).name == f"00000_{first.key}.png"
    assert clean_faceset(store).rows_removed == 0


def test_duplicates_are_near_identical_crops_of_one_source(store: FacesetStore) -> None:
    faces = store.faces()
    # make frame 2 a copy of frame 0 (same person): a duplicate; frame 3 stays unique
    store.path_of(faces[2]).write_bytes(store.path_of(faces[0]).read_bytes())
    assert [f.key for f in find_duplicates(store)] == [faces[2].key]
