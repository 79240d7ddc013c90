"""The inputs of an evaluation analysed once and shared by every configuration: source and target photos
(faces, identity), target videos (the followed main face per frame, its brightness, sampled identities)
and the gallery of every person seen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.evaluation import metrics as m
from faceforge.geometry.boxes import box_iou
from faceforge.media.images import read_image
from faceforge.media.video import VideoInfo, is_video_path, probe_video, read_frames
from faceforge.types import Face

MATCH_IOU = 0.3  # least box overlap for an output face to count as the target's face


def match_face(faces: list[Face], box: np.ndarray) -> Face | None:
    """The face overlapping ``box`` most, if it overlaps enough."""
    if not faces:
        return None
    overlaps = box_iou(np.asarray(box, np.float32)[None], np.stack([f.box for f in faces]))[0]
    best = int(np.argmax(overlaps))
    return faces[best] if overlaps[best] >= MATCH_IOU else None


@dataclass(slots=True)
class PhotoAnalysis:
    path: Path
    image: np.ndarray
    faces: list[Face]
    main: Face | None  # largest face, with its identity descriptor


@dataclass(slots=True)
class VideoAnalysis:
    path: Path
    info: VideoInfo
    faces: list[Face | None]  # the followed main face per frame
    means: list[float | None]  # its region's mean grey level per frame
    embeddings: dict[int, np.ndarray]  # sampled frames -> identity descriptor
    jitter: float
    flicker: float

    @property
    def main_embedding(self) -> np.ndarray | None:
        if not self.embeddings:
            return None
        return np.mean(np.stack(list(self.embeddings.values())), axis=0)


@dataclass(slots=True)
class Gallery:
    """One identity descriptor per person seen in the run (sources and targets). Photos whose faces are
    closer than the identity threshold to an earlier person's are that person."""

    labels: list[str] = field(default_factory=list)
    embeddings: list[np.ndarray] = field(default_factory=list)
    person_of: dict[Path, int] = field(default_factory=dict)

    def add(self, path: Path, embedding: np.ndarray | None, distance: m.Distance, threshold: float) -> None:
        if embedding is None or path in self.person_of:
            return
        if self.embeddings:
            distances = np.asarray(distance(embedding[None], np.stack(self.embeddings)))
            nearest = int(np.argmin(distances))
            if distances[nearest] < threshold:
                self.person_of[path] = nearest
                return
        self.person_of[path] = len(self.labels)
        self.labels.append(path.name)
        self.embeddings.append(np.asarray(embedding, np.float32))

    @property
    def matrix(self) -> np.ndarray:
        return np.stack(self.embeddings)


class InputAnalyses:
    """Analyses of input files, each made once with the measuring analyser and then cached.

    ``advance(n)`` is called once per analysed video frame (progress reporting).
    """

    def __init__(self, analyser: FaceAnalyser, identity_every: int, advance: Callable[[int], None]) -> None:
        self.analyser = analyser
        self.identity_every = max(1, identity_every)
        self.advance = advance
        self._photos: dict[Path, PhotoAnalysis] = {}
        self._videos: dict[Path, VideoAnalysis] = {}

    def frame_count(self, path: Path) -> int:
        if path in self._videos:
            return self._videos[path].info.frame_count
        return probe_video(path).frame_count

    def photo(self, path: Path) -> PhotoAnalysis:
        if path not in self._photos:
            image = read_image(path)
            faces = self.analyser.faces(image)
            main = self.analyser.embed(image, faces[:1])[0] if faces else None
            self._photos[path] = PhotoAnalysis(path, image, faces, main)
        return self._photos[path]

    def video(self, path: Path) -> VideoAnalysis:
        """Per-frame landmarks of the target's main face (the largest, then followed by overlap)."""
        if path in self._videos:
            return self._videos[path]
        info = probe_video(path)
        faces: list[Face | None] = []
        means: list[float | None] = []
        embeddings: dict[int, np.ndarray] = {}
        previous: Face | None = None
        for frame in read_frames(path):
            found = self.analyser.faces(frame.image)
            face = (match_face(found, previous.box) if previous is not None else None) or (
                found[0] if found else None
            )
            faces.append(face)
            means.append(m.region_mean(frame.image, face.landmarks) if face is not None else None)
            if face is not None and frame.index % self.identity_every == 0:
                embedded = self.analyser.embed(frame.image, [face])[0].embedding
                if embedded is not None:
                    embeddings[frame.index] = embedded
            previous = face or previous
            self.advance(1)
        analysis = VideoAnalysis(
            path,
            info,
            faces,
            means,
            embeddings,
            jitter=m.landmark_jitter([f.landmarks if f is not None else None for f in faces]),
            flicker=m.flicker(means),
        )
        self._videos[path] = analysis
        return analysis

    def embedding(self, path: Path) -> np.ndarray | None:
        """The identity descriptor of the main face of a photo, or the mean of a video's samples."""
        if is_video_path(path):
            return self.video(path).main_embedding
        main = self.photo(path).main
        return main.embedding if main is not None else None
