"""The evaluation run: every configuration on the same source/target pairs, measured the same way.

Targets and sources are analysed once (landmarks per frame, identity descriptors) and reused by every
configuration; each configuration gets one :class:`~faceforge.pipeline.session.SwapSession` per source
photo, and only the swap itself is timed. Outputs (swapped images and videos), ``metrics.json``,
``metrics.csv`` and ``report.html`` go to a hidden temporary folder next to the report folder, which is
renamed into place only when everything is written.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from faceforge import __version__
from faceforge.analysis.analyser import FaceAnalyser
from faceforge.errors import FaceforgeError, InputError, OutputError
from faceforge.evaluation import metrics as m
from faceforge.evaluation.configs import Configuration
from faceforge.geometry.boxes import box_iou
from faceforge.media.images import is_image_path, read_image, write_image
from faceforge.media.video import VideoInfo, is_video_path, probe_video, read_frames
from faceforge.pipeline.provenance import swap_tag
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.video import swap_video_file
from faceforge.types import Face

Progress = Callable[[int, int], None]
Log = Callable[[str], None]

UNCHANGED_GREY = 1.5  # mean |output - target| in the face (grey levels) below which a frame was not swapped
MATCH_IOU = 0.3  # least box overlap for an output face to count as the target's face


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    label: str
    unit: str
    better: str  # "lower" or "higher"
    kind: str  # "all", "image" or "video"
    percent: bool = False
    summary: bool = True  # shown in the summary table (all are in the per-pair table and the files)
    description: str = ""


METRICS: tuple[Metric, ...] = (
    Metric(
        "id_source",
        "ID dist. to source",
        "",
        "lower",
        "all",
        description="identity distance of the output face to the source photo (same person < 0.6)",
    ),
    Metric(
        "id_target",
        "ID dist. to target",
        "",
        "higher",
        "all",
        description="identity distance of the output face to the target face it replaced",
    ),
    Metric(
        "id_top1",
        "ID retrieval top-1",
        "%",
        "higher",
        "all",
        percent=True,
        description="the output's nearest identity in the gallery of every person is the source",
    ),
    Metric(
        "id_top5",
        "ID retrieval top-5",
        "%",
        "higher",
        "all",
        percent=True,
        description="the source is among the output's 5 nearest identities in the gallery",
    ),
    Metric(
        "pose",
        "pose error",
        "deg",
        "lower",
        "all",
        description="mean of the absolute yaw, pitch and roll differences, output vs target",
    ),
    Metric("pose_yaw", "yaw error", "deg", "lower", "all", summary=False),
    Metric("pose_pitch", "pitch error", "deg", "lower", "all", summary=False),
    Metric("pose_roll", "roll error", "deg", "lower", "all", summary=False),
    Metric(
        "expression",
        "expression error",
        "IOD",
        "lower",
        "all",
        description="mouth/eye/brow landmark distance after removing head pose, in inter-ocular distances",
    ),
    Metric("expression_mouth", "mouth error", "IOD", "lower", "all", summary=False),
    Metric("expression_eyes", "eyes error", "IOD", "lower", "all", summary=False),
    Metric("expression_brows", "brows error", "IOD", "lower", "all", summary=False),
    Metric(
        "gaze",
        "gaze error",
        "eye w.",
        "lower",
        "all",
        description="distance between the iris positions within the eye opening, in eye widths",
    ),
    Metric(
        "bg_psnr",
        "background PSNR",
        "dB",
        "higher",
        "all",
        description="PSNR outside the dilated face region (100 = untouched)",
    ),
    Metric(
        "bg_ssim",
        "background SSIM",
        "",
        "higher",
        "all",
        description="SSIM outside the dilated face region (1 = untouched)",
    ),
    Metric(
        "failed_frames",
        "failed frames",
        "%",
        "lower",
        "video",
        percent=True,
        description="frames with a target face where the output has no face there, or it was not swapped",
    ),
    Metric(
        "reverted_frames",
        "reverted frames",
        "%",
        "lower",
        "video",
        percent=True,
        description="sampled frames whose output face is closer to the target's identity than the source's",
    ),
    Metric(
        "jitter_ratio",
        "landmark jitter ratio",
        "x",
        "lower",
        "video",
        description="landmark acceleration of the output face over the target's own (1 = no added jitter)",
    ),
    Metric(
        "flicker_ratio",
        "flicker ratio",
        "x",
        "lower",
        "video",
        description="frame-to-frame face brightness change of the output over the target's own",
    ),
    Metric(
        "residual_flicker",
        "residual flicker",
        "grey",
        "lower",
        "video",
        description="frame-to-frame change of (output - target) face brightness, in grey levels",
    ),
    Metric(
        "frames_match",
        "frame count kept",
        "%",
        "higher",
        "video",
        percent=True,
        description="the output has exactly the target's frame count",
    ),
    Metric(
        "duration_diff_s",
        "duration diff.",
        "s",
        "lower",
        "video",
        summary=False,
        description="absolute difference of output and target durations",
    ),
    Metric(
        "audio_ok",
        "audio intact",
        "%",
        "higher",
        "video",
        percent=True,
        description="audio present exactly when the target has it, and of the same duration (±0.1 s)",
    ),
    Metric(
        "audio_bitexact",
        "audio bit-exact",
        "%",
        "higher",
        "video",
        percent=True,
        summary=False,
        description="the output's audio packets are byte-identical to the target's",
    ),
    Metric(
        "fps",
        "speed",
        "fps",
        "higher",
        "all",
        description="frames (or images) swapped per second, decoding and encoding included, loading not",
    ),
    Metric(
        "peak_rss_mb",
        "peak memory",
        "MB",
        "lower",
        "all",
        description="peak resident memory of the process while swapping (measurement models included)",
    ),
)
METRIC_BY_KEY = {metric.key: metric for metric in METRICS}


# --- pairs -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pair:
    source: Path
    target: Path

    @property
    def kind(self) -> str:
        return "video" if is_video_path(self.target) else "image"

    @property
    def name(self) -> str:
        return f"{self.source.name} → {self.target.name}"


def read_pairs_csv(path: Path) -> list[Pair]:
    """Pairs from a CSV with a header naming ``source`` and ``target`` columns; relative paths are
    resolved against the CSV's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"Cannot read the pairs file {path}: {exc.strerror or exc}.") from exc
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}
    if "source" not in columns or "target" not in columns:
        raise InputError(f"The pairs file {path} needs a header row with 'source' and 'target' columns.")
    pairs = []
    for line, row in enumerate(reader, start=2):
        source = (row.get(columns["source"]) or "").strip()
        target = (row.get(columns["target"]) or "").strip()
        if not source and not target:
            continue
        if not source or not target:
            raise InputError(f"The pairs file {path}, line {line}: both a source and a target are needed.")
        pairs.append(Pair(_resolve(path.parent, source), _resolve(path.parent, target)))
    if not pairs:
        raise InputError(f"The pairs file {path} lists no pairs.")
    return pairs


def _resolve(folder: Path, name: str) -> Path:
    candidate = Path(name).expanduser()
    return candidate if candidate.is_absolute() else folder / candidate


def _media_in(folder: Path, videos: bool) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"The folder {folder} does not exist.")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and (is_image_path(p) or (videos and is_video_path(p)))
    )


def pairs_from_folders(sources: Path, targets: Path) -> list[Pair]:
    """Every source photo with every target image or video (the same file excluded; pairs showing the
    same person are dropped later, once identities are known)."""
    source_files = _media_in(Path(sources), videos=False)
    target_files = _media_in(Path(targets), videos=True)
    if not source_files:
        raise InputError(f"The folder {sources} holds no source photos.")
    if not target_files:
        raise InputError(f"The folder {targets} holds no target images or videos.")
    return [Pair(s, t) for s in source_files for t in target_files if s.resolve() != t.resolve()]


# --- measuring helpers -------------------------------------------------------------------------------


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if os.uname().sysname == "Darwin" else peak / 2**10


class PeakMemory:
    """Samples the process's resident memory every ``interval`` seconds while open; ``peak_mb`` is the
    highest seen. RSS counts native allocations (MediaPipe, torch, codecs) that tracemalloc misses."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak_mb = self.start_mb = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faceforge-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, _rss_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _rss_mb())


def _match(faces: list[Face], box: np.ndarray) -> Face | None:
    """The face overlapping ``box`` most, if it overlaps enough."""
    if not faces:
        return None
    overlaps = box_iou(np.asarray(box, np.float32)[None], np.stack([f.box for f in faces]))[0]
    best = int(np.argmax(overlaps))
    return faces[best] if overlaps[best] >= MATCH_IOU else None


def _thumbnail(image: np.ndarray, box: np.ndarray | None, height: int = 160) -> str:
    """A JPEG data URI of the face (with some context) or, without a box, of the whole image."""
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        side = max(x1 - x0, y1 - y0) * 1.5
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        h, w = image.shape[:2]
        left, top = max(int(cx - side / 2), 0), max(int(cy - side / 2), 0)
        right, bottom = min(int(cx + side / 2), w), min(int(cy + side / 2), h)
        if right > left and bottom > top:
            image = image[top:bottom, left:right]
    scale = height / image.shape[0]
    size = (max(1, round(image.shape[1] * scale)), height)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    buffer = io.BytesIO()
    Image.fromarray(small).save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _grey_diff(a: np.ndarray, b: np.ndarray, landmarks: np.ndarray) -> float:
    region = m.face_region(a.shape, [landmarks], dilate=0.0, extra_px=0)
    if not region.any():
        return float("nan")
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(ga - gb)[region].mean())


def audio_fingerprint(path: Path) -> tuple[float, str] | None:
    """(duration in seconds, sha256 of every audio packet's bytes) of the first audio stream, or None."""
    import hashlib

    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        digest = hashlib.sha256()
        end = 0.0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            digest.update(bytes(packet))
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        return end, digest.hexdigest()


# --- analyses of the inputs, shared by every configuration ------------------------------------------


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


# --- the run ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class ConfigResult:
    configuration: Configuration
    rows: list[dict[str, object]]
    aggregate: dict[str, float]
    setup_s: float
    thumbnails: dict[int, dict[str, str]]  # pair index -> source/target/output data URIs


@dataclass(slots=True)
class EvaluationResult:
    pairs: list[Pair]
    skipped: list[tuple[Pair, str]]
    gallery: Gallery
    results: list[ConfigResult]
    meta: dict[str, object]


class Evaluator:
    """Runs configurations on pairs and measures them with one (separate) analyser."""

    def __init__(
        self,
        analyser: FaceAnalyser,
        identity_every: int = 10,
        dilate: float = 0.25,
        progress: Progress | None = None,
        log: Log | None = None,
    ) -> None:
        self.analyser = analyser
        self.identity_every = max(1, identity_every)
        self.dilate = dilate
        self.progress = progress
        self.log = log or (lambda message: None)
        self._photos: dict[Path, PhotoAnalysis] = {}
        self._videos: dict[Path, VideoAnalysis] = {}
        self._done = 0
        self._total = 0

    # progress ---------------------------------------------------------------------------------------

    def _advance(self, units: int = 1) -> None:
        self._done += units
        if self.progress is not None:
            self.progress(min(self._done, self._total), self._total)

    def _units(self, pair: Pair) -> int:
        if pair.kind == "video":
            return 2 * self._frame_count(pair.target)
        return 1

    def _frame_count(self, path: Path) -> int:
        if path in self._videos:
            return self._videos[path].info.frame_count
        return probe_video(path).frame_count

    # inputs -----------------------------------------------------------------------------------------

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
            face = (_match(found, previous.box) if previous is not None else None) or (
                found[0] if found else None
            )
            faces.append(face)
            means.append(m.region_mean(frame.image, face.landmarks) if face is not None else None)
            if face is not None and frame.index % self.identity_every == 0:
                embeddings[frame.index] = self.analyser.embed(frame.image, [face])[0].embedding  # type: ignore[assignment]
            previous = face or previous
            self._advance()
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

    def target_embedding(self, path: Path) -> np.ndarray | None:
        if is_video_path(path):
            return self.video(path).main_embedding
        main = self.photo(path).main
        return main.embedding if main is not None else None

    # the run ----------------------------------------------------------------------------------------

    def run(
        self,
        pairs: Sequence[Pair],
        configurations: Sequence[Configuration],
        folder: Path,
        skip_same_person: bool = False,
    ) -> EvaluationResult:
        if not pairs:
            raise InputError("There are no pairs to evaluate.")
        if not configurations:
            raise ValueError("There is no configuration to evaluate.")
        identity = self.analyser.identity
        sources = list(dict.fromkeys(p.source for p in pairs))
        targets = list(dict.fromkeys(p.target for p in pairs))
        for path in [*sources, *targets]:
            if not path.is_file():
                raise InputError(f"The file {path} does not exist.")
        analysis_units = sum(self._frame_count(t) if is_video_path(t) else 1 for t in targets)
        self._total = len(sources) + analysis_units + len(configurations) * sum(self._units(p) for p in pairs)
        self._advance(0)

        gallery = Gallery()
        for path in sources:
            self.log(f"analysing source {path.name}")
            gallery.add(path, self.target_embedding(path), identity.distance, identity.threshold)
            self._advance()
        for path in targets:
            self.log(f"analysing target {path.name}")
            if not is_video_path(path):
                self._advance()
            gallery.add(path, self.target_embedding(path), identity.distance, identity.threshold)

        kept: list[Pair] = []
        skipped: list[tuple[Pair, str]] = []
        for pair in pairs:
            same = pair.source in gallery.person_of and gallery.person_of.get(
                pair.source
            ) == gallery.person_of.get(pair.target)
            if same and skip_same_person:
                skipped.append((pair, "source and target show the same person"))
                self._total -= len(configurations) * self._units(pair)
            else:
                kept.append(pair)
        if not kept:
            raise InputError("Every pair shows the same person as source and target; nothing to evaluate.")

        results = [
            self._run_configuration(i, cfg, kept, gallery, folder) for i, cfg in enumerate(configurations)
        ]
        meta = {
            "faceforge_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "identity_backend": getattr(identity, "name", type(identity).__name__),
            "identity_threshold": identity.threshold,
            "identity_every": self.identity_every,
            "background_dilate": self.dilate,
            "gallery_size": len(gallery.labels),
            "cpu_count": os.cpu_count(),
        }
        return EvaluationResult(kept, skipped, gallery, results, meta)

    def _run_configuration(
        self, index: int, configuration: Configuration, pairs: Sequence[Pair], gallery: Gallery, folder: Path
    ) -> ConfigResult:
        out_dir = folder / "outputs" / f"{index + 1:02d}"
        out_dir.mkdir(parents=True, exist_ok=True)
        rows: list[dict[str, object]] = []
        thumbnails: dict[int, dict[str, str]] = {}
        setup_total = 0.0
        by_source: dict[Path, list[int]] = {}
        for i, pair in enumerate(pairs):
            by_source.setdefault(pair.source, []).append(i)
        ordered: dict[int, dict[str, object]] = {}
        for source, indices in by_source.items():
            self.log(f"[{configuration.name}] source {source.name}")
            start = time.perf_counter()
            try:
                session = SwapSession([[source]], configuration.config)
            except FaceforgeError as exc:
                for i in indices:
                    ordered[i] = self._row(i, pairs[i], "error", str(exc))
                    self._advance(self._units(pairs[i]))
                continue
            setup_total += time.perf_counter() - start
            with session:
                for i in indices:
                    pair = pairs[i]
                    self.log(f"[{configuration.name}] {pair.name}")
                    try:
                        if pair.kind == "video":
                            row, thumbs = self._video_pair(i, pair, session, gallery, out_dir)
                        else:
                            row, thumbs = self._image_pair(i, pair, session, gallery, out_dir)
                    except FaceforgeError as exc:
                        row, thumbs = self._row(i, pair, "error", str(exc)), {}
                    ordered[i] = row
                    if thumbs:
                        thumbnails[i] = thumbs
        rows = [ordered[i] for i in sorted(ordered)]
        return ConfigResult(configuration, rows, aggregate(rows), setup_total, thumbnails)

    @staticmethod
    def _row(index: int, pair: Pair, status: str, note: str = "") -> dict[str, object]:
        row: dict[str, object] = {
            "pair": index + 1,
            "name": pair.name,
            "source": str(pair.source),
            "target": str(pair.target),
            "kind": pair.kind,
            "status": status,
            "note": note,
        }
        if status == "failed":  # the swapper produced no usable face: a retrieval miss
            row["id_top1"] = 0.0
            row["id_top5"] = 0.0
        return row

    def _identity(
        self, row: dict[str, object], embedding: np.ndarray, pair: Pair, gallery: Gallery, target_embedding
    ) -> tuple[float, float]:
        distance = self.analyser.identity.distance
        source = self.photo(pair.source).main
        assert source is not None and source.embedding is not None
        d_source, d_target = m.identity_distances(embedding, source.embedding, target_embedding, distance)
        retrieval = m.identity_retrieval(embedding, gallery.matrix, gallery.person_of[pair.source], distance)
        row["nearest"] = gallery.labels[retrieval.nearest]
        return d_source, d_target, retrieval  # type: ignore[return-value]

    def _image_pair(
        self, index: int, pair: Pair, session: SwapSession, gallery: Gallery, out_dir: Path
    ) -> tuple[dict[str, object], dict[str, str]]:
        source = self.photo(pair.source)
        target = self.photo(pair.target)
        if target.main is None:
            self._advance()
            return self._row(index, pair, "error", f"No face was found in the target {pair.target.name}."), {}
        with PeakMemory() as memory:
            start = time.perf_counter()
            output, count = session.swap_image(target.image)
            elapsed = time.perf_counter() - start
        path = out_dir / f"{index + 1:03d}_{pair.source.stem}__{pair.target.stem}.png"
        write_image(path, output, swap_tag(session.config.swapper, count))
        self._advance()
        thumbs = {
            "source": _thumbnail(source.image, source.main.box if source.main else None),
            "target": _thumbnail(target.image, target.main.box),
            "output": _thumbnail(output, target.main.box),
        }
        if count == 0:
            return self._row(index, pair, "failed", "the swapper found no face to swap"), thumbs
        face = _match(self.analyser.faces(output), target.main.box)
        if face is None:
            return self._row(
                index, pair, "failed", "no face found in the output where the target's was"
            ), thumbs
        face = self.analyser.embed(output, [face])[0]
        row = self._row(index, pair, "ok")
        row["output"] = str(path.relative_to(out_dir.parent.parent))
        d_source, d_target, retrieval = self._identity(
            row, face.embedding, pair, gallery, target.main.embedding
        )
        row.update(
            id_source=d_source,
            id_target=d_target,
            id_top1=float(retrieval.top1),
            id_top5=float(retrieval.top5),
            **_geometry(face.landmarks, target.main.landmarks),
            fps=1.0 / max(elapsed, 1e-9),
            seconds=elapsed,
            frames=1,
            peak_rss_mb=memory.peak_mb,
        )
        row["bg_psnr"], row["bg_ssim"] = m.background_scores(
            target.image, output, [f.landmarks for f in target.faces], self.dilate
        )
        return row, thumbs

    def _video_pair(
        self, index: int, pair: Pair, session: SwapSession, gallery: Gallery, out_dir: Path
    ) -> tuple[dict[str, object], dict[str, str]]:
        source = self.photo(pair.source)
        target = self.video(pair.target)
        units = self._units(pair) // 2
        suffix = (
            pair.target.suffix.lower() if pair.target.suffix.lower() in (".mp4", ".mov", ".mkv") else ".mp4"
        )
        path = out_dir / f"{index + 1:03d}_{pair.source.stem}__{pair.target.stem}{suffix}"
        done = 0

        def swap_progress(frames: int, total: int) -> None:
            nonlocal done
            step = min(frames, units) - done
            if step > 0:
                done += step
                self._advance(step)

        with PeakMemory() as memory:
            start = time.perf_counter()
            try:
                report = swap_video_file(session, pair.target, path, swap_progress)
            except FaceforgeError:
                self._advance(2 * units - done)
                raise
            elapsed = time.perf_counter() - start
        self._advance(units - done)
        row = self._row(index, pair, "ok")
        row["output"] = str(path.relative_to(out_dir.parent.parent))
        row.update(fps=report.frames / max(elapsed, 1e-9), seconds=elapsed, peak_rss_mb=memory.peak_mb)
        thumbs = self._measure_video(row, pair, target, source, path, gallery)
        self._advance(units)
        return row, thumbs

    def _measure_video(
        self,
        row: dict[str, object],
        pair: Pair,
        target: VideoAnalysis,
        source: PhotoAnalysis,
        output_path: Path,
        gallery: Gallery,
    ) -> dict[str, str]:
        analyser = self.analyser
        info = probe_video(output_path)
        face_frames = failed = sampled = reverted = 0
        out_landmarks: list[np.ndarray | None] = []
        out_means: list[float | None] = []
        per_frame: dict[str, list[float]] = {}
        identity: dict[str, list[float]] = {"id_source": [], "id_target": [], "id_top1": [], "id_top5": []}
        background: dict[str, list[float]] = {"bg_psnr": [], "bg_ssim": []}
        worst: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None
        frames = 0
        for target_frame, output_frame in zip(
            read_frames(pair.target), read_frames(output_path), strict=False
        ):
            frames += 1
            i = target_frame.index
            tface = target.faces[i] if i < len(target.faces) else None
            if tface is None:
                out_landmarks.append(None)
                out_means.append(None)
                continue
            face_frames += 1
            out_means.append(m.region_mean(output_frame.image, tface.landmarks))
            face = _match(analyser.faces(output_frame.image), tface.box)
            unchanged = _grey_diff(output_frame.image, target_frame.image, tface.landmarks) < UNCHANGED_GREY
            if face is None or unchanged:
                failed += 1
                out_landmarks.append(None)
                continue
            out_landmarks.append(face.landmarks)
            for key, value in _geometry(face.landmarks, tface.landmarks).items():
                per_frame.setdefault(key, []).append(value)
            if i in target.embeddings:
                sampled += 1
                embedded = analyser.embed(output_frame.image, [face])[0]
                d_source, d_target, retrieval = self._identity(
                    row, embedded.embedding, pair, gallery, target.embeddings[i]
                )
                reverted += m.is_reverted(d_source, d_target)
                identity["id_source"].append(d_source)
                identity["id_target"].append(d_target)
                identity["id_top1"].append(float(retrieval.top1))
                identity["id_top5"].append(float(retrieval.top5))
                psnr, ssim = m.background_scores(
                    target_frame.image, output_frame.image, [tface.landmarks], self.dilate
                )
                background["bg_psnr"].append(psnr)
                background["bg_ssim"].append(ssim)
                if worst is None or d_source > worst[0]:
                    worst = (d_source, target_frame.image, output_frame.image, tface.box)
        for key, values in {**per_frame, **identity, **background}.items():
            row[key] = float(np.nanmean(values)) if values else float("nan")
        if not identity["id_top1"]:  # no sampled frame had a usable output face: a retrieval miss
            row["id_top1"] = row["id_top5"] = 0.0
        row["frames"] = frames
        row["target_face_frames"] = face_frames
        row["failed_frames"] = failed / face_frames if face_frames else float("nan")
        row["reverted_frames"] = reverted / sampled if sampled else float("nan")
        output_jitter = m.landmark_jitter(out_landmarks)
        row["jitter"] = output_jitter
        row["jitter_ratio"] = m.ratio(output_jitter, target.jitter)
        row["flicker_ratio"] = m.ratio(m.flicker(out_means), target.flicker)
        row["residual_flicker"] = m.residual_flicker(out_means, target.means)
        row["frames_match"] = float(
            info.frame_count == target.info.frame_count and frames == len(target.faces)
        )
        row["duration_diff_s"] = abs(info.duration - target.info.duration)
        want, got = audio_fingerprint(pair.target), audio_fingerprint(output_path)
        if want is None or got is None:
            row["audio_ok"] = float(want is None and got is None)
            row["audio_bitexact"] = row["audio_ok"]
        else:
            row["audio_ok"] = float(abs(want[0] - got[0]) <= 0.1)
            row["audio_bitexact"] = float(want[1] == got[1])
        if face_frames and failed == face_frames:
            row["status"] = "failed"
            row["note"] = "no frame of the output has a swapped face where the target's is"
        elif sampled and reverted == sampled:
            row["status"] = "failed"
            row["note"] = "every sampled output face is closer to the target's identity than the source's"
        thumbs: dict[str, str] = {}
        if source.main is not None:
            thumbs["source"] = _thumbnail(source.image, source.main.box)
        if worst is not None:
            thumbs["target"] = _thumbnail(worst[1], worst[3])
            thumbs["output"] = _thumbnail(worst[2], worst[3])
        return thumbs


def _geometry(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    yaw, pitch, roll = m.pose_error(output, target)
    expression = m.expression_error(output, target)
    return {
        "pose": float(np.mean([yaw, pitch, roll])),
        "pose_yaw": float(yaw),
        "pose_pitch": float(pitch),
        "pose_roll": float(roll),
        "expression": expression["total"],
        "expression_mouth": expression["mouth"],
        "expression_eyes": expression["eyes"],
        "expression_brows": expression["brows"],
        "gaze": m.gaze_error(output, target),
    }


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and not math.isnan(float(value)):
        return float(value)
    return None


def aggregate(rows: Sequence[dict[str, object]]) -> dict[str, float]:
    """Means over pairs of each metric (NaN-free values only); speed is total frames over total swap
    time, memory the highest peak; counts of pairs by status."""
    result: dict[str, float] = {}
    for metric in METRICS:
        if metric.key in ("fps", "peak_rss_mb"):
            continue
        values = [v for row in rows if (v := _number(row.get(metric.key))) is not None]
        result[metric.key] = float(np.mean(values)) if values else float("nan")
    seconds = sum(_number(row.get("seconds")) or 0.0 for row in rows)
    frames = sum(_number(row.get("frames")) or 0.0 for row in rows if row.get("seconds") is not None)
    result["fps"] = frames / seconds if seconds > 0 else float("nan")
    peaks = [v for row in rows if (v := _number(row.get("peak_rss_mb"))) is not None]
    result["peak_rss_mb"] = max(peaks) if peaks else float("nan")
    for status in ("ok", "failed", "error"):
        result[f"pairs_{status}"] = float(sum(row.get("status") == status for row in rows))
    return result


# --- the report folder -------------------------------------------------------------------------------


@contextmanager
def report_folder(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """A hidden temporary folder beside ``path``, renamed to ``path`` when the block succeeds and
    deleted when it fails or is interrupted, so a report folder is either complete or absent."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.exists() and not overwrite:
        raise OutputError(f"The report folder {path} already exists; use --overwrite to replace it.")
    if path.exists() and not path.is_dir():
        raise OutputError(f"Cannot write the report to {path}: a file with that name exists.")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        temp = parent / f".faceforge-tmp-{secrets.token_hex(6)}-{path.name}"
        temp.mkdir()
    except OSError as exc:
        raise OutputError(f"Cannot write the report folder {path}: {exc.strerror or exc}.") from exc
    try:
        yield temp
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    old = parent / f".faceforge-old-{secrets.token_hex(6)}-{path.name}" if path.exists() else None
    try:
        if old is not None:
            os.replace(path, old)
        os.replace(temp, path)
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        raise OutputError(f"Cannot write the report folder {path}: {exc.strerror or exc}.") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def evaluate(
    pairs: Sequence[Pair],
    configurations: Sequence[Configuration],
    output: Path,
    *,
    analyser: FaceAnalyser | None = None,
    identity_every: int = 10,
    dilate: float = 0.25,
    worst: int = 4,
    skip_same_person: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
    log: Log | None = None,
) -> EvaluationResult:
    """Run and measure every configuration on every pair; write ``metrics.json``, ``metrics.csv``,
    ``report.html`` and the outputs to the folder ``output`` (atomically). Returns the results."""
    from faceforge.evaluation.report import write_report

    with report_folder(Path(output), overwrite) as folder:
        own = analyser is None
        measuring = analyser or FaceAnalyser()
        try:
            evaluator = Evaluator(measuring, identity_every, dilate, progress, log)
            result = evaluator.run(pairs, configurations, folder, skip_same_person)
        finally:
            if own:
                measuring.close()
        write_report(result, folder, worst=worst)
    return result
