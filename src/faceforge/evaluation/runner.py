"""The evaluation run: every configuration on the same source/target pairs, measured the same way.

Targets and sources are analysed once (:mod:`~faceforge.evaluation.inputs`) and reused by every
configuration; each configuration gets one :class:`~faceforge.pipeline.session.SwapSession` per source
photo, and only the swap itself is timed (:mod:`~faceforge.evaluation.measure` scores the outputs). An
input that cannot be read (a corrupt photo, an undecodable video) does not stop the run: its pairs are
skipped and listed with the reason. Outputs (swapped images and videos), ``metrics.json``,
``metrics.csv`` and ``report.html`` go to a hidden temporary folder next to the report folder, which is
renamed into place only when everything is written.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.errors import FaceforgeError, InputError, OptionError
from faceforge.evaluation.configs import Configuration
from faceforge.evaluation.inputs import Gallery, InputAnalyses
from faceforge.evaluation.measure import Measurer, Row, thumbnail
from faceforge.evaluation.memory import PeakMemory
from faceforge.evaluation.metric_table import METRIC_BY_KEY, METRICS, Metric
from faceforge.evaluation.pairs import Pair, pairs_from_folders, read_pairs_csv
from faceforge.media.atomic import atomic_folder
from faceforge.media.images import write_image
from faceforge.media.video import X264_SUFFIXES, is_video_path
from faceforge.pipeline.provenance import swap_tag
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.video import swap_video_file
from faceforge.progress import Progress
from faceforge.version import __version__

__all__ = [
    "METRICS",
    "METRIC_BY_KEY",
    "ConfigResult",
    "EvaluationResult",
    "Evaluator",
    "Metric",
    "Pair",
    "aggregate",
    "evaluate",
    "pairs_from_folders",
    "read_pairs_csv",
    "report_folder",
]

Log = Callable[[str], None]


@dataclass(slots=True)
class ConfigResult:
    configuration: Configuration
    rows: list[Row]
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
        self.inputs = InputAnalyses(analyser, self.identity_every, self._advance)
        self.measurer = Measurer(analyser, self.inputs, dilate)
        self._done = 0
        self._total = 0

    # progress ---------------------------------------------------------------------------------------

    def _advance(self, units: int = 1) -> None:
        self._done += units
        if self.progress is not None:
            self.progress(min(self._done, self._total), self._total)

    def _units(self, pair: Pair) -> int:
        if pair.kind == "video":
            return 2 * self.inputs.frame_count(pair.target)
        return 1

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
            raise OptionError("There is no configuration to evaluate.")
        identity = self.analyser.identity
        sources = list(dict.fromkeys(p.source for p in pairs))
        targets = list(dict.fromkeys(p.target for p in pairs))
        for path in [*sources, *targets]:
            if not path.is_file():
                raise InputError(f"The file {path} does not exist.")
        unreadable: dict[Path, str] = {}
        frame_counts: dict[Path, int] = {}
        for path in targets:
            if is_video_path(path):
                try:
                    frame_counts[path] = self.inputs.frame_count(path)
                except FaceforgeError as exc:
                    unreadable[path] = str(exc)
        readable = [p for p in pairs if p.target not in unreadable]
        analysis_units = sum(frame_counts.get(t, 1) for t in targets if t not in unreadable)
        self._total = (
            len(sources) + analysis_units + len(configurations) * sum(self._units(p) for p in readable)
        )
        self._advance(0)

        gallery = Gallery()
        for path in sources:
            self.log(f"analysing source {path.name}")
            self._add_to_gallery(gallery, path, unreadable)
            self._advance()
        for path in targets:
            if path in unreadable:
                continue
            self.log(f"analysing target {path.name}")
            if not is_video_path(path):
                self._advance()
            self._add_to_gallery(gallery, path, unreadable)

        kept: list[Pair] = []
        skipped: list[tuple[Pair, str]] = []
        for pair in pairs:
            bad = unreadable.get(pair.source) or unreadable.get(pair.target)
            same = pair.source in gallery.person_of and gallery.person_of.get(
                pair.source
            ) == gallery.person_of.get(pair.target)
            if bad is not None:
                skipped.append((pair, bad))
                if pair in readable:
                    self._total -= len(configurations) * self._units(pair)
            elif same and skip_same_person:
                skipped.append((pair, "source and target show the same person"))
                self._total -= len(configurations) * self._units(pair)
            else:
                kept.append(pair)
        if not kept:
            if unreadable:
                raise InputError(f"No pair can be evaluated: {next(iter(unreadable.values()))}")
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

    def _add_to_gallery(self, gallery: Gallery, path: Path, unreadable: dict[Path, str]) -> None:
        """Analyse ``path`` into the gallery; an unreadable file is recorded, not fatal."""
        if path in unreadable:
            return
        identity = self.analyser.identity
        try:
            gallery.add(path, self.inputs.embedding(path), identity.distance, identity.threshold)
        except FaceforgeError as exc:
            self.log(f"skipping {path.name}: {exc}")
            unreadable[path] = str(exc)

    def _run_configuration(
        self, index: int, configuration: Configuration, pairs: Sequence[Pair], gallery: Gallery, folder: Path
    ) -> ConfigResult:
        out_dir = folder / "outputs" / f"{index + 1:02d}"
        out_dir.mkdir(parents=True, exist_ok=True)
        thumbnails: dict[int, dict[str, str]] = {}
        setup_total = 0.0
        by_source: dict[Path, list[int]] = {}
        for i, pair in enumerate(pairs):
            by_source.setdefault(pair.source, []).append(i)
        ordered: dict[int, Row] = {}
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
    def _row(index: int, pair: Pair, status: str, note: str = "") -> Row:
        row: Row = {
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

    def _image_pair(
        self, index: int, pair: Pair, session: SwapSession, gallery: Gallery, out_dir: Path
    ) -> tuple[Row, dict[str, str]]:
        source = self.inputs.photo(pair.source)
        target = self.inputs.photo(pair.target)
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
            "source": thumbnail(source.image, source.main.box if source.main else None),
            "target": thumbnail(target.image, target.main.box),
            "output": thumbnail(output, target.main.box),
        }
        if count == 0:
            return self._row(index, pair, "failed", "the swapper found no face to swap"), thumbs
        row = self._row(index, pair, "ok")
        if not self.measurer.image(row, pair, output, target, gallery):
            return self._row(
                index, pair, "failed", "no face found in the output where the target's was"
            ), thumbs
        row["output"] = str(path.relative_to(out_dir.parent.parent))
        row.update(fps=1.0 / max(elapsed, 1e-9), seconds=elapsed, frames=1, peak_rss_mb=memory.peak_mb)
        return row, thumbs

    def _video_pair(
        self, index: int, pair: Pair, session: SwapSession, gallery: Gallery, out_dir: Path
    ) -> tuple[Row, dict[str, str]]:
        source = self.inputs.photo(pair.source)
        target = self.inputs.video(pair.target)
        units = self._units(pair) // 2
        suffix = pair.target.suffix.lower() if pair.target.suffix.lower() in X264_SUFFIXES else ".mp4"
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
        thumbs = self.measurer.video(row, pair, target, source, path, gallery)
        self._advance(units)
        return row, thumbs


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and not math.isnan(float(value)):
        return float(value)
    return None


def aggregate(rows: Sequence[Row]) -> dict[str, float]:
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


@contextmanager
def report_folder(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """The report folder, written atomically: complete or absent (see :func:`atomic_folder`)."""
    with atomic_folder(path, overwrite) as temp:
        yield temp


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
