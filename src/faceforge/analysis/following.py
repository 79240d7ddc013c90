"""Faces through a video: the detector on key frames, each face followed from its own landmarks between.

Following is faster and steadier than detecting on every frame: FaceMesh in tracking mode (one graph
per track) landmarks a crop around each face's predicted box, the tracker smooths the landmarks and
bridges short misses, and the detector runs only every ``detect_every`` frames to find new faces. A
scene cut drops every track, so no face is carried over to a place where it no longer is.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.analysis.landmarks import FaceMeshFollower
from faceforge.analysis.tracking import FaceTracker, TrackingOptions
from faceforge.geometry.boxes import box_iou, landmark_box
from faceforge.types import Face


class SceneCutDetector:
    """Flags frames that start a new shot: the mean absolute difference of tiny grey thumbnails of
    consecutive frames jumps. Tracks must not survive a cut, or the old face is swapped at its old place."""

    def __init__(self, threshold: float = 30.0) -> None:
        self.threshold = threshold
        self._previous: np.ndarray | None = None

    def reset(self) -> None:
        self._previous = None

    def is_cut(self, image: np.ndarray) -> bool:
        # Every s-th pixel (still at least 4x4 samples per thumbnail pixel) instead of the whole frame:
        # a quarter of the cost at 1080p, scores within 0.3 of the full-area thumbnail's on the test clips.
        step = max(1, min(image.shape[0] // 144, image.shape[1] // 256))
        sampled = np.ascontiguousarray(image[::step, ::step])
        thumb = cv2.resize(cv2.cvtColor(sampled, cv2.COLOR_RGB2GRAY), (64, 36), interpolation=cv2.INTER_AREA)
        previous, self._previous = self._previous, thumb.astype(np.float32)
        return previous is not None and float(np.abs(self._previous - previous).mean()) > self.threshold


def plausible_follow(found: np.ndarray, predicted: np.ndarray) -> bool:
    """A followed face must stay about the size and place predicted; otherwise FaceMesh has locked onto
    something else in the crop (another face, or a face-like texture after the person left)."""
    ratio = (found[2] - found[0] + found[3] - found[1]) / max(
        predicted[2] - predicted[0] + predicted[3] - predicted[1], 1
    )
    return 0.6 < ratio < 1.6 and box_iou(found[None], predicted[None])[0, 0] > 0.3


class FaceFollower:
    """Per-frame faces with stable track ids for consecutive frames of one video.

    Returned faces include those the tracker bridged over a miss (``tracker.bridged_ids`` names them).
    Call :meth:`close` when done; :meth:`reset` forgets every face (a new clip, or a new chunk that must not
    depend on the frames before it).
    """

    def __init__(self, analyser: FaceAnalyser, tracking: TrackingOptions, detect_every: int) -> None:
        self.analyser = analyser
        self.tracker = FaceTracker(tracking)
        self.detect_every = max(1, detect_every)
        self.cuts = SceneCutDetector()
        self.meshes = FaceMeshFollower(analyser.options.landmarks)
        self._frames = 0
        self._next_tile = 0

    def close(self) -> None:
        self.meshes.close()

    def reset(self) -> None:
        self.tracker.reset()
        self.meshes.retain(())  # reused, not closed: MediaPipe keeps memory of every closed graph
        self.cuts.reset()
        self._frames = 0
        self._next_tile = 0  # the tiles scanned after a reset are those a fresh follower scans

    def faces(self, image: np.ndarray, timestamp: float) -> list[Face]:
        key_frame = self._frames % self.detect_every == 0
        self._frames += 1
        analyser = self.analyser
        margin = analyser.options.landmarks.track_margin
        if self.cuts.is_cut(image):
            self.tracker.reset()
            self.meshes.retain(())
            self._next_tile = (
                0  # as reset(): after a cut the tiles scanned do not depend on the frames before
            )
        found: list[Face] = []
        for track_id, box in self.tracker.predicted_boxes(timestamp):
            points = self.meshes.landmarks(track_id, image, box, margin)
            if points is None:
                continue
            followed = landmark_box(points)
            if plausible_follow(followed, box):
                found.append(Face(box=followed, score=1.0, landmarks=points))
        if not found:
            found = analyser.faces(image)  # nothing followed (first frame, a cut, all lost): full scan
        elif key_frame:
            found += self._new_faces(image, found)
        faces = self.tracker.update(found, timestamp)
        self.meshes.retain(self.tracker.track_ids)
        return faces

    def _new_faces(self, image: np.ndarray, followed: list[Face]) -> list[Face]:
        """Faces that are not followed yet, on a key frame while others are: the whole-frame detector
        passes every time, and one of the detector's tiles (for small faces), a different one on each
        key frame, so that a new small face is found within a few key frames at a fraction of the cost
        of a full scan."""
        analyser = self.analyser
        count = analyser.detector.tile_count(*image.shape[:2])
        tiles = [self._next_tile % count] if count else []
        self._next_tile += 1
        known = np.stack([f.box for f in followed])
        margin = analyser.options.landmarks.detection_margin
        new: list[Face] = []
        for det in analyser.detector.detect(image, tiles=tiles):
            if box_iou(det.box[None], known).max() > 0.2:
                continue
            points = analyser.landmarker.landmarks(image, det.box, margin)
            if points is None:
                continue
            box = landmark_box(points)
            if box_iou(box[None], np.concatenate([known, *[f.box[None] for f in new]])).max() > 0.5:
                continue  # two detections (a tile's and the whole frame's) landed on one face
            new.append(Face(box=box, score=det.score, landmarks=points))
        return new
