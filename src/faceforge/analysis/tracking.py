"""Face tracking across video frames: stable ids, smoothed landmarks and bridged detection gaps.

Why: a swap that is re-analysed independently on every frame flickers. Landmarks jitter (smoothed here by
one :class:`~faceforge.analysis.smoothing.LandmarkSmoother` per track), and a detector that misses a face
for a frame or two makes the swapped face flick back to the original. The tracker keeps returning a track
for up to ``max_missed`` frames without a detection, moved along its damped velocity, so short misses
(motion blur, a hand passing) do not show. Stable ids also let callers do per-person work once per track
(identity embedding, source choice) and crop the landmark model's input around :meth:`FaceTracker.
predicted_boxes` instead of re-detecting every frame.

Box convention: matching, prediction and every returned face use the tight box of the landmarks (the
same box :class:`~faceforge.types.Face` producers in this package give). Matching on landmark boxes rather
than on whatever box a detector produced compares like with like, and the returned box then agrees with
the smoothed landmarks instead of jittering on its own.

Bridged faces: a returned face with no detection this frame is the track's last face with extrapolated
landmarks and its score multiplied by ``bridged_score_factor`` per missed frame; :attr:`FaceTracker.
bridged_ids` names them for the last update.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from faceforge.analysis.smoothing import LandmarkSmoother, SmoothingOptions
from faceforge.geometry.boxes import box_iou, landmark_box
from faceforge.types import Face


@dataclass(frozen=True, slots=True)
class TrackingOptions:
    """How faces are followed from frame to frame.

    ``min_iou``: least overlap between a track's predicted box and a detection for them to be matched.
    ``max_missed``: frames a track is still returned without a detection before it is dropped.
    ``bridge_min_hits``: detections a track needs before it is bridged at all, so that a false detection
    seen in one frame does not linger for ``max_missed`` more.
    ``bridged_score_factor``: a bridged face's score is its last score times this, per missed frame.
    ``velocity_decay_s``: time constant (seconds) of the exponential decay of the velocity used to
    extrapolate a track; the largest distance a bridged face can drift is its speed times this.
    """

    min_iou: float = 0.3
    max_missed: int = 5
    bridge_min_hits: int = 2
    bridged_score_factor: float = 0.5
    velocity_decay_s: float = 0.1
    smoothing: SmoothingOptions = field(default_factory=SmoothingOptions)


class _Track:
    """One followed face: its smoother, its last returned face and its detection history."""

    __slots__ = ("face", "hits", "missed", "smoother", "track_id")

    def __init__(self, track_id: int, smoothing: SmoothingOptions) -> None:
        self.track_id = track_id
        self.smoother = LandmarkSmoother(smoothing)
        self.face: Face | None = None
        self.hits = 0
        self.missed = 0

    def observe(self, face: Face, timestamp: float) -> Face:
        """Feed this frame's detection; returns it with smoothed landmarks, its box and the track id."""
        landmarks = self.smoother(face.landmarks, timestamp)
        embedding = face.embedding
        if embedding is None and self.face is not None:
            embedding = self.face.embedding
        self.face = face.with_(
            landmarks=landmarks, box=landmark_box(landmarks), embedding=embedding, track_id=self.track_id
        )
        self.hits += 1
        self.missed = 0
        return self.face

    def predict(self, timestamp: float, decay_s: float) -> np.ndarray:
        """Landmarks (float32) extrapolated to ``timestamp`` along the velocity, decaying over ``decay_s``."""
        landmarks, velocity = self.smoother.landmarks, self.smoother.velocity
        if landmarks is None or velocity is None:
            raise RuntimeError("A track is predicted before its first detection.")
        dt = max(timestamp - self.smoother.timestamp, 0.0)
        reach = decay_s * -math.expm1(-dt / decay_s) if decay_s > 0 else 0.0
        return (landmarks + velocity * reach).astype(np.float32)


class FaceTracker:
    """Assigns stable ids to faces across frames, smooths their landmarks and bridges short misses.

    Call :meth:`update` once per frame, in time order, with all faces found in it. Ids count up from 1 and
    are never reused, not even after :meth:`reset`, so anything a caller keyed by id can never be given to a
    different person.
    """

    DEFAULT_FRAME_INTERVAL_S = 1.0 / 30.0

    def __init__(self, options: TrackingOptions | None = None) -> None:
        self.options = options or TrackingOptions()
        self._ids = itertools.count(1)
        self._tracks: list[_Track] = []
        self._bridged: frozenset[int] = frozenset()
        self._timestamp: float | None = None
        self._frame_interval = self.DEFAULT_FRAME_INTERVAL_S

    @property
    def bridged_ids(self) -> frozenset[int]:
        """Ids of the faces the last :meth:`update` returned without a detection (extrapolated)."""
        return self._bridged

    @property
    def track_ids(self) -> list[int]:
        """Ids of the tracks alive now, detected or bridged."""
        return [track.track_id for track in self._tracks]

    def reset(self) -> None:
        """Forget every track (for a scene cut); new faces get new ids."""
        self._tracks = []
        self._bridged = frozenset()
        self._timestamp = None
        self._frame_interval = self.DEFAULT_FRAME_INTERVAL_S

    def predicted_boxes(self, timestamp: float | None = None) -> list[tuple[int, np.ndarray]]:
        """Where each live track's landmark box is expected at ``timestamp``.

        Without a timestamp, one frame after the last update (at the last observed frame interval). Run
        the landmark model on a crop around these boxes and pass the results to :meth:`update` to track
        without running the detector on every frame.
        """
        if timestamp is None:
            timestamp = (self._timestamp or 0.0) + self._frame_interval
        decay = self.options.velocity_decay_s
        return [(track.track_id, landmark_box(track.predict(timestamp, decay))) for track in self._tracks]

    def update(self, faces: list[Face], timestamp: float) -> list[Face]:
        """Match this frame's faces to tracks; returns tracked faces (bridged ones included) by id."""
        if self._timestamp is not None and timestamp > self._timestamp:
            self._frame_interval = timestamp - self._timestamp
        self._timestamp = timestamp
        matches = self._match(faces, timestamp)
        matched_faces = set(matches.values())
        out: list[Face] = []
        bridged: set[int] = set()
        alive: list[_Track] = []
        for index, track in enumerate(self._tracks):
            if index in matches:
                out.append(track.observe(faces[matches[index]], timestamp))
                alive.append(track)
                continue
            track.missed += 1
            last = track.face  # None only for a track never observed, which has nothing to bridge
            if (
                track.missed > self.options.max_missed
                or track.hits < self.options.bridge_min_hits
                or last is None
            ):
                continue
            out.append(self._bridge(track, last, timestamp))
            bridged.add(track.track_id)
            alive.append(track)
        for face_index, face in enumerate(faces):
            if face_index not in matched_faces:
                track = _Track(next(self._ids), self.options.smoothing)
                out.append(track.observe(face, timestamp))
                alive.append(track)
        self._tracks = alive
        self._bridged = frozenset(bridged)
        return sorted(out, key=lambda face: face.track_id or 0)

    def _match(self, faces: list[Face], timestamp: float) -> dict[int, int]:
        """Track index -> face index for the assignment of greatest total IoU, pairs under ``min_iou`` cut."""
        if not faces or not self._tracks:
            return {}
        decay = self.options.velocity_decay_s
        predicted = np.stack([landmark_box(track.predict(timestamp, decay)) for track in self._tracks])
        detected = np.stack([landmark_box(face.landmarks) for face in faces])
        iou = box_iou(predicted, detected)
        from scipy.optimize import linear_sum_assignment  # 0.3-1 s to import: only when tracking runs

        rows, cols = linear_sum_assignment(iou, maximize=True)
        return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= self.options.min_iou}

    def _bridge(self, track: _Track, last: Face, timestamp: float) -> Face:
        """The track's last face moved along its damped velocity, with a lowered score."""
        landmarks = track.predict(timestamp, self.options.velocity_decay_s)
        score = last.score * self.options.bridged_score_factor**track.missed
        return last.with_(landmarks=landmarks, box=landmark_box(landmarks), score=score)
