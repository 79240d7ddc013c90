"""Face tracking: stable ids, bridged gaps, dropped tracks, and smoothing on real FaceMesh landmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceforge.analysis.tracking import FaceTracker, TrackingOptions
from faceforge.geometry.boxes import box_iou, landmark_box
from faceforge.types import Face

FPS = 30.0
VIDEO = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "talking_audio_3s.mp4"


def synthetic_landmarks(size: float, seed: int = 0) -> np.ndarray:
    """478 landmarks spread over a ``size``-pixel square centred on the origin."""
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (478, 3)) * size


def make_face(offsets: np.ndarray, centre: tuple[float, float], score: float = 0.9) -> Face:
    landmarks = offsets.copy()
    landmarks[:, :2] += centre
    landmarks = landmarks.astype(np.float32)
    return Face(box=landmark_box(landmarks), score=score, landmarks=landmarks)


def test_box_iou() -> None:
    a = np.array([[0, 0, 10, 10]], dtype=np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]])


def test_one_face_keeps_its_id_and_gets_smoothed_landmarks_and_matching_box() -> None:
    rng = np.random.default_rng(1)
    offsets = synthetic_landmarks(150.0)
    tracker = FaceTracker()
    ids, raw, smoothed = set(), [], []
    for k in range(40):
        face = make_face(offsets + rng.normal(0.0, 1.5, offsets.shape), (300.0, 200.0))
        (out,) = tracker.update([face], k / FPS)
        ids.add(out.track_id)
        raw.append(face.landmarks)
        smoothed.append(out.landmarks)
        np.testing.assert_allclose(out.box, landmark_box(out.landmarks))
        assert out.score == face.score
    assert ids == {1}
    assert tracker.bridged_ids == frozenset()
    assert np.diff(raw[10:], axis=0).std() / np.diff(smoothed[10:], axis=0).std() >= 3.0


def test_crossing_faces_keep_their_ids() -> None:
    rng = np.random.default_rng(2)
    left, right = synthetic_landmarks(100.0, 3), synthetic_landmarks(100.0, 4)
    tracker = FaceTracker()
    seen: dict[str, set[int | None]] = {"a": set(), "b": set()}
    for k in range(50):
        # A moves right, B moves left, 40 px apart vertically: their boxes overlap (IoU ~0.4) as they pass.
        a = make_face(left + rng.normal(0.0, 1.0, left.shape), (100.0 + 8.0 * k, 200.0))
        b = make_face(right + rng.normal(0.0, 1.0, right.shape), (500.0 - 8.0 * k, 240.0))
        out = tracker.update([b, a] if k % 2 else [a, b], k / FPS)
        assert len(out) == 2
        for face in out:
            name = "a" if abs(face.box[1] - a.box[1]) < abs(face.box[1] - b.box[1]) else "b"
            seen[name].add(face.track_id)
    assert seen == {"a": {1}, "b": {2}}


def test_short_gap_is_bridged_near_the_extrapolated_position() -> None:
    offsets = synthetic_landmarks(120.0)
    speed = 90.0  # pixels per second
    tracker = FaceTracker()
    last: Face | None = None
    for k in range(30):
        t = k / FPS
        centre = (200.0 + speed * t, 200.0)
        if 20 <= k < 23:
            (out,) = tracker.update([], t)
            assert last is not None
            assert out.track_id == 1 and tracker.bridged_ids == {1}
            assert out.score == pytest.approx(0.9 * 0.5 ** (k - 19))
            truth = make_face(offsets, centre).landmarks
            moved = float(np.mean(out.landmarks[:, 0] - last.landmarks[:, 0]))
            assert moved > 0.0  # carried along its velocity, not frozen
            assert np.abs(out.landmarks - truth).mean() < np.abs(last.landmarks - truth).mean()
            assert np.abs(out.landmarks - truth)[:, :2].mean() < speed / FPS * 1.5
        else:
            (out,) = tracker.update([make_face(offsets, centre)], t)
            assert out.track_id == 1 and tracker.bridged_ids == frozenset()
            last = out


def test_long_gap_drops_the_track_and_ids_are_never_reused() -> None:
    offsets = synthetic_landmarks(120.0)
    options = TrackingOptions(max_missed=5)
    tracker = FaceTracker(options)
    face = make_face(offsets, (300.0, 300.0))
    for k in range(10):
        assert [f.track_id for f in tracker.update([face], k / FPS)] == [1]
    for k in range(10, 30):
        out = tracker.update([], k / FPS)
        missed = k - 9
        assert [f.track_id for f in out] == ([1] if missed <= options.max_missed else [])
    assert tracker.track_ids == []
    assert [f.track_id for f in tracker.update([face], 30 / FPS)] == [2]
    tracker.reset()
    assert tracker.track_ids == []
    assert [f.track_id for f in tracker.update([face], 31 / FPS)] == [3]


def test_one_frame_detection_is_not_bridged_and_far_jump_is_a_new_face() -> None:
    offsets = synthetic_landmarks(80.0)
    tracker = FaceTracker()
    tracker.update([make_face(offsets, (100.0, 100.0))], 0.0)
    assert tracker.update([], 1 / FPS) == []  # a lone detection (maybe false) does not linger
    tracker.update([make_face(offsets, (100.0, 100.0))], 2 / FPS)
    tracker.update([make_face(offsets, (100.0, 100.0))], 3 / FPS)
    out = tracker.update([make_face(offsets, (500.0, 100.0))], 4 / FPS)
    assert sorted(f.track_id for f in out) == [2, 3]  # 2 bridged where it was, 3 new where the face is
    assert tracker.bridged_ids == {2}


def test_embedding_is_kept_along_the_track() -> None:
    offsets = synthetic_landmarks(100.0)
    tracker = FaceTracker()
    embedding = np.ones(128, dtype=np.float32)
    tracker.update([make_face(offsets, (200.0, 200.0)).with_(embedding=embedding)], 0.0)
    (out,) = tracker.update([make_face(offsets, (201.0, 200.0))], 1 / FPS)
    assert out.embedding is embedding


def test_predicted_boxes_lead_the_motion() -> None:
    offsets = synthetic_landmarks(100.0)
    tracker = FaceTracker()
    for k in range(20):
        (out,) = tracker.update([make_face(offsets, (100.0 + 6.0 * k, 200.0))], k / FPS)
    ((track_id, box),) = tracker.predicted_boxes()
    next_box = make_face(offsets, (100.0 + 6.0 * 20, 200.0)).box
    assert track_id == out.track_id
    assert box[0] > out.box[0]
    assert np.abs(box - next_box).max() < np.abs(out.box - next_box).max()
    ((_, same),) = tracker.predicted_boxes(20 / FPS)
    np.testing.assert_allclose(same, box, atol=1e-3)


def facemesh_landmarks(frames: int) -> list[np.ndarray | None]:
    """FaceMesh landmarks (478, 3) in pixels for the first ``frames`` frames, None where no face."""
    import av
    import mediapipe as mp

    out: list[np.ndarray | None] = []
    mesh_options = {"static_image_mode": True, "refine_landmarks": True, "max_num_faces": 1}
    face_mesh = mp.solutions.face_mesh.FaceMesh(**mesh_options)
    with face_mesh as mesh, av.open(str(VIDEO)) as container:
        for frame in container.decode(video=0):
            if len(out) == frames:
                break
            image = frame.to_ndarray(format="rgb24")
            height, width = image.shape[:2]
            result = mesh.process(image)
            if result.multi_face_landmarks is None:
                out.append(None)
                continue
            points = result.multi_face_landmarks[0].landmark
            out.append(np.array([[p.x * width, p.y * height, p.z * width] for p in points], np.float32))
    return out


def test_real_facemesh_jitter_is_reduced() -> None:
    """On a real clip (a wide shot cut to a singing close-up at frame 3, head moving down briskly),
    the nose bridge and eye corners shake less after tracking than straight out of FaceMesh.

    Jitter here is the mean frame-to-frame acceleration (second difference): the head's own smooth motion
    contributes little to it, landmark noise and the clip's duplicated frames most of it.
    """
    raw = facemesh_landmarks(20)
    tracker = FaceTracker()
    kept_raw, kept_out, ids = [], [], set()
    for k, landmarks in enumerate(raw):
        faces = [] if landmarks is None else [Face(landmark_box(landmarks), 1.0, landmarks)]
        out = tracker.update(faces, k / FPS)
        if landmarks is not None:
            assert len(out) == 1
            kept_raw.append(landmarks)
            kept_out.append(out[0].landmarks)
            ids.add(out[0].track_id)
    assert len(kept_raw) >= 15 and len(ids) == 1
    points = [168, 6, 197, 33, 133, 362, 263]  # nose bridge, outer and inner eye corners
    size = float(np.mean([np.ptp(p[:, :2], axis=0).max() for p in kept_raw]))

    def shake(track: list[np.ndarray]) -> float:
        xy = np.stack(track)[:, points, :2]
        return float(np.linalg.norm(np.diff(xy, 2, axis=0), axis=-1).mean()) / size

    assert shake(kept_out) < 0.85 * shake(kept_raw)
