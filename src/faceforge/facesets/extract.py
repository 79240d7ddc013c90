"""Extraction: videos, photos and folders → aligned crops plus their rows in the faceset index.

Resumable by construction. A video is cut into chunks of ``chunk`` sampled frames at fixed frame
positions; everything that shapes a chunk's faces (the face follower's state, the identity batch) starts
afresh at the chunk's first frame, and a chunk's faces are committed in the same transaction as the
source's progress (``sources.next_frame``). Files are written before that commit under names fixed by
(source, frame, face), so a kill at any moment leaves at worst some files of the uncommitted chunk,
which the re-run writes again, bit for bit: the resumed faceset equals an uninterrupted one. Photos are
batched several to a transaction (for batched identity embeddings) the same way.

Video faces are followed between detector key frames the way the swap pipeline does it
(:class:`~faceforge.analysis.tracking.FaceTracker` plus FaceMesh in tracking mode), with smoothing off
(a faceset wants each frame's own landmarks) and no bridging (an extrapolated face is not a face).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.analysis.following import FaceFollower
from faceforge.analysis.smoothing import SmoothingOptions
from faceforge.analysis.tracking import TrackingOptions
from faceforge.errors import InputError, NoFaceError
from faceforge.facesets.extract_inputs import Reference, expand_inputs, load_reference
from faceforge.facesets.extract_options import ExtractOptions, ExtractReport
from faceforge.facesets.measure import CropMeasures, measure_crop
from faceforge.facesets.rows import FACES_DIR, FaceRow, SourceRow, face_key
from faceforge.facesets.store import FacesetStore
from faceforge.geometry.alignment import TEMPLATES, align_face
from faceforge.media.atomic import TEMP_PREFIX, pause_for_test
from faceforge.media.images import read_image, write_image
from faceforge.media.video import is_video_path, probe_video, read_frames
from faceforge.progress import Progress
from faceforge.types import AlignedFace, Face


@dataclass(slots=True)
class _Candidate:
    """A face that passed the cheap filters, waiting for its identity and its commit."""

    frame: int
    time: float | None
    face_index: int
    aligned: AlignedFace
    measures: CropMeasures
    chip: np.ndarray | None = None  # dlib chip, for faces whose identity is computed
    same_as: _Candidate | None = None  # an earlier face of the same track whose identity this one shares


class _VideoFaces:
    """Faces of sampled video frames, followed between detector key frames like the swap pipeline does
    (:class:`~faceforge.analysis.following.FaceFollower`) but without smoothing or gap bridging (a track
    ends on its first frame without a face): a faceset stores only faces that were really seen. With
    ``follow`` off (sparse sampling) every frame gets a full detection. :meth:`reset` forgets everything,
    so a chunk's faces do not depend on the frames before it."""

    def __init__(self, analyser: FaceAnalyser, detect_every: int, follow: bool) -> None:
        self.analyser = analyser
        self.follow = follow
        tracking = TrackingOptions(max_missed=0, smoothing=SmoothingOptions(enabled=False))
        self.follower = FaceFollower(analyser, tracking, detect_every)

    def close(self) -> None:
        self.follower.close()

    def reset(self) -> None:
        self.follower.reset()

    def faces(self, image: np.ndarray, timestamp: float) -> list[Face]:
        if not self.follow:
            return self.analyser.faces(image)
        return sorted(self.follower.faces(image, timestamp), key=lambda f: f.size, reverse=True)


class Extractor:
    """Runs one extraction into an open faceset. Use :func:`extract_faceset` for the whole job."""

    def __init__(
        self,
        store: FacesetStore,
        analyser: FaceAnalyser,
        options: ExtractOptions,
        reference: Reference | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.analyser = analyser
        self.options = options
        self.reference = reference
        self.progress = progress
        self.template = TEMPLATES[options.template]
        self.report = ExtractReport()
        self.done_frames = 0
        self.total_frames = 0
        # (source, its candidates, next_frame, done) per batch; frames themselves are never kept
        self._pending: list[tuple[SourceRow, list[_Candidate], int, bool]] = []

    # -- one face -----------------------------------------------------------------------------------

    def _candidates(
        self,
        image: np.ndarray,
        faces: list[Face],
        frame: int,
        timestamp: float | None,
        tracks: dict[int, tuple[_Candidate, int]] | None = None,
    ) -> list[_Candidate]:
        """Faces that pass the size, pose and sharpness filters, aligned and measured. ``tracks`` (track id
        -> last embedded face, the track's faces kept since) decides which followed faces share one."""
        opts, out = self.options, []
        if len(faces) > opts.max_faces:
            self.report.rejected["over --max-faces"] += len(faces) - opts.max_faces
        for index, face in enumerate(faces[: opts.max_faces]):
            if face.size < opts.min_size:
                self.report.rejected["too small"] += 1
                continue
            aligned = align_face(image, face, self.template, opts.size)
            measures = measure_crop(aligned)
            if (opts.max_yaw is not None and abs(measures.yaw) > opts.max_yaw) or (
                opts.max_pitch is not None and abs(measures.pitch) > opts.max_pitch
            ):
                self.report.rejected["pose"] += 1
                continue
            if measures.sharpness < opts.min_sharpness:
                self.report.rejected["blurry"] += 1
                continue
            candidate = _Candidate(frame, timestamp, index, aligned, measures)
            track = face.track_id
            if tracks is not None and track is not None:
                last = tracks.get(track)
                if last is not None and last[1] < opts.identity_every:
                    candidate.same_as = last[0]
                    tracks[track] = (last[0], last[1] + 1)
                else:
                    tracks[track] = (candidate, 1)
            out.append(candidate)
        own = [c for c in out if c.same_as is None]
        if own:
            chips = self._chips(image, [c.aligned.face for c in own])
            for candidate, chip in zip(own, chips, strict=True):
                candidate.chip = chip
        return out

    def _chips(self, image: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        return list(self.analyser.identity.chips(image, faces))  # type: ignore[attr-defined]

    # -- batches ------------------------------------------------------------------------------------

    def _flush(self) -> None:
        """Embed, filter by reference, write the files and commit every pending batch in one transaction."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        candidates = [c for _, batch, _, _ in pending for c in batch if c.chip is not None]
        with self.report.timed("identity"):
            chips = np.stack([c.chip for c in candidates if c.chip is not None]) if candidates else None
            vectors = (
                self.analyser.identity.embed_chips(chips)  # type: ignore[attr-defined]
                if chips is not None
                else np.zeros((0, 128), np.float32)
            )
        embedding_of = {id(c): v for c, v in zip(candidates, vectors, strict=True)}
        batches = []
        for source, batch, next_frame, done in pending:
            rows = []
            for c in batch:
                owner = c.same_as or c
                embedding = embedding_of[id(owner)]
                if self.reference is not None:
                    distance = float(np.linalg.norm(embedding - self.reference.embedding))
                    if distance >= self.reference.threshold:
                        self.report.rejected["other person"] += 1
                        continue
                rows.append(self._row(source, c, embedding, owner.frame))
            with self.report.timed("write"):
                for row, crop in rows:
                    write_image(self.store.root / row.file, crop, tag=None, quality=self.options.jpeg_quality)
            batches.append((source.id, [r for r, _ in rows], next_frame, done))
            self.report.faces_added += len(rows)
        with self.report.timed("index"):
            self.store.commit_faces(batches)
        pause_for_test("after-chunk")

    def _row(
        self, source: SourceRow, c: _Candidate, embedding: np.ndarray, identity_frame: int
    ) -> tuple[FaceRow, np.ndarray]:
        key = face_key(source.id, c.frame, c.face_index)
        face, m = c.aligned.face, c.measures
        row = FaceRow(
            key=key,
            file=f"{FACES_DIR}/{key}.{self.options.image_format}",
            source_id=source.id,
            frame=c.frame,
            face_index=c.face_index,
            time=c.time,
            box=face.box,
            score=float(face.score),
            face_size=float(face.size),
            landmarks=face.landmarks,
            matrix=c.aligned.matrix,
            embedding=embedding,
            identity_frame=identity_frame,
            mask=m.mask,
            sharpness=m.sharpness,
            yaw=m.yaw,
            pitch=m.pitch,
            roll=m.roll,
            brightness=m.brightness,
            colour_a=m.colour_a,
            colour_b=m.colour_b,
        )
        return row, c.aligned.image

    def _tick(self, frames: int = 1) -> None:
        self.done_frames += frames
        if self.progress is not None:
            self.progress(self.done_frames, self.total_frames)

    # -- sources ------------------------------------------------------------------------------------

    def video(self, path: Path, source: SourceRow) -> None:
        opts = self.options
        span = opts.every * opts.chunk  # frames per chunk
        start = source.next_frame
        frames = read_frames(path)
        faces = _VideoFaces(self.analyser, opts.detect_every, follow=opts.every <= 2)
        batch: list[_Candidate] = []
        tracks: dict[int, tuple[_Candidate, int]] = {}
        chunk_start = start
        last = start - 1
        try:
            while True:
                with self.report.timed("decode"):
                    frame = next(frames, None)
                if frame is None:
                    break
                last = frame.index
                if frame.index < start:
                    self._tick()
                    continue
                if frame.index >= chunk_start + span:  # a chunk boundary: commit, then start afresh
                    self._pending.append((source, batch, chunk_start + span, False))
                    self._flush()
                    batch, chunk_start = [], frame.index - frame.index % span
                    tracks = {}
                    faces.reset()
                if frame.index % opts.every == 0:
                    with self.report.timed("analyse"):
                        found = faces.faces(frame.image, frame.time)
                    with self.report.timed("align"):
                        candidates = self._candidates(frame.image, found, frame.index, frame.time, tracks)
                        batch.extend(candidates)
                    self.report.frames_analysed += 1
                self._tick()
        finally:
            frames.close()
            faces.close()
        if frames.truncation is not None:
            self.report.warnings.append(frames.truncation)
        self._pending.append((source, batch, max(last + 1, start), True))
        self._flush()

    def image(self, path: Path, source: SourceRow) -> None:
        with self.report.timed("decode"):
            image = read_image(path)
        with self.report.timed("analyse"):
            found = self.analyser.faces(image)
        with self.report.timed("align"):
            candidates = self._candidates(image, found, 0, None)
        self.report.frames_analysed += 1
        self._pending.append((source, candidates, 1, True))
        if (
            sum(len(c) for _, c, _, _ in self._pending) >= self.options.chunk
            or len(self._pending) >= self.options.chunk
        ):
            self._flush()
        self._tick()

    def run(self, inputs: list[Path]) -> ExtractReport:
        reference = self.reference.digest if self.reference is not None else None
        wanted = self.options.source_options(reference)
        # options that sources extracted by an older faceforge did not record: they ran with the default
        added_later = {"max_faces": ExtractOptions().max_faces}
        plan: list[tuple[Path, SourceRow]] = []
        for path in inputs:
            kind = "video" if is_video_path(path) else "image"
            stat = path.stat()
            source = self.store.source(str(path))
            if source is None:
                try:
                    frame_count = probe_video(path).frame_count if kind == "video" else 1
                except InputError as exc:
                    self.report.failed.append((path, str(exc)))
                    continue
                source = self.store.add_source(
                    path=str(path),
                    name=path.name,
                    kind=kind,
                    size_bytes=stat.st_size,
                    mtime_ns=stat.st_mtime_ns,
                    frame_count=frame_count,
                    options=wanted,
                )
            elif (source.size_bytes, source.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                raise InputError(
                    f"{path} has changed since its faces were extracted into this faceset; "
                    "remove its faces first (faces remove --source) or extract into a new faceset."
                )
            elif {**added_later, **source.options} != json.loads(json.dumps(wanted, sort_keys=True)):
                changed = sorted(k for k in wanted if {**added_later, **source.options}.get(k) != wanted[k])
                raise InputError(
                    f"{path} was extracted into this faceset with other options ({', '.join(changed)}); "
                    "run again with the same options, or remove its faces first (faces remove --source)."
                )
            if source.done:
                self.report.sources_skipped += 1
                continue
            plan.append((path, source))
        self.total_frames = sum(s.frame_count or 1 for _, s in plan)
        for path, source in plan:
            try:
                if source.kind == "video":
                    self._flush()
                    self.video(path, source)
                else:
                    self.image(path, source)
            except InputError as exc:  # one bad file: recorded and skipped, never marked done
                self.report.failed.append((path, str(exc)))
                continue
            self.report.sources_done += 1
        self._flush()
        return self.report


def remove_stale_temporaries(store: FacesetStore) -> None:
    """Half-written crops of a killed run (atomic writes' temporary names) are never part of a faceset."""
    for temp in (store.root / FACES_DIR).rglob(f"{TEMP_PREFIX}*"):
        temp.unlink(missing_ok=True)


def extract_faceset(
    inputs: Sequence[Path],
    faceset: Path,
    options: ExtractOptions | None = None,
    analyser: FaceAnalyser | None = None,
    reference_photos: Sequence[Path] = (),
    progress: Progress | None = None,
) -> ExtractReport:
    """Extract every face (or the reference person's) of ``inputs`` into the faceset at ``faceset``,
    creating it if needed, resuming where a previous run of the same command stopped. An input that
    cannot be read is skipped and listed in the report's ``failed`` (its source is never marked done, so a
    rerun tries it again); the others are extracted."""
    options = options or ExtractOptions()
    options.validate()
    files = expand_inputs(inputs, exclude=Path(faceset))
    own = analyser is None
    analyser = analyser or FaceAnalyser()
    try:
        identity_name = getattr(analyser.identity, "name", "unknown")
        info = options.faceset_info(identity_name)
        with FacesetStore.open(Path(faceset), create=True, info=info) as store:
            stored = store.info
            clash = [k for k in info if stored.get(k) != info[k]]
            if clash:
                were = ", ".join(f"{k}={stored.get(k)}" for k in clash)
                raise InputError(
                    f"The faceset {faceset} was made with {were}; extract into it with the same settings "
                    "or into a new faceset."
                )
            remove_stale_temporaries(store)
            reference = None
            if reference_photos:
                reference = load_reference(analyser, reference_photos, options.reference_threshold)
            extractor = Extractor(store, analyser, options, reference, progress)
            report = extractor.run(files)
            if report.faces_added == 0 and store.count() == 0 and report.sources_done:
                raise NoFaceError(
                    "No face was extracted: none found, or none passed the size, pose, sharpness or "
                    "reference filters."
                )
            return report
    finally:
        if own:
            analyser.close()
