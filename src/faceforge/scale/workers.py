"""The work a batch worker does: one object per worker process (a Ray actor, or the driver itself for a
local run) that loads the models and the source identities once and then runs any number of tasks.

A task whose input is bad (a faceforge error: no face, unreadable file...) returns a failed
:class:`TaskResult` with its sentence, so the job goes on; anything else is a bug and propagates.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceforge.config import SwapConfig
from faceforge.errors import FaceforgeError
from faceforge.media.atomic import pause_for_test
from faceforge.progress import Progress
from faceforge.scale.plan import Task


def worker_name() -> str:
    """``host:pid`` of this process: where a task ran, as the job record stores it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class TaskResult:
    key: str
    ok: bool
    worker: str
    seconds: float
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SwapSpec:
    """What every swap worker loads: the source people (or a trained model) and the run's config."""

    sources: list[list[Path]]
    config: SwapConfig
    references: list[Path] | None = None
    model: Path | None = None  # a `faceforge train` model folder (convert)
    direction: str = "a2b"
    checkpoint: str = "latest"
    learned_mask: bool = True


class SwapWorker:
    """Holds one :class:`~faceforge.pipeline.session.SwapSession` for the worker's whole life.
    ``progress(done, total)`` of :meth:`run` hears the task's frames as they are done."""

    def __init__(self, spec: SwapSpec) -> None:
        from faceforge.pipeline.session import SwapSession

        swapper = None
        if spec.model is not None:
            from faceforge.swappers.autoencoder import AutoencoderSwapper

            swapper = AutoencoderSwapper(
                spec.model, spec.direction, checkpoint=spec.checkpoint, learned_mask=spec.learned_mask
            )
        self.session = SwapSession(spec.sources, spec.config, spec.references, swapper)
        self.setup = setup_id()
        self.swapper = swapper

    def run(self, task: Task, progress: Progress | None = None) -> TaskResult:
        return _attempt(task, self._swap, progress, self.setup)

    def _swap(self, task: Task, progress: Progress | None) -> dict[str, Any]:
        from faceforge.pipeline.image import swap_image_file
        from faceforge.pipeline.video import swap_video_file
        from faceforge.scale.video import swap_segment

        output = task.output_path()
        output.parent.mkdir(parents=True, exist_ok=True)
        if task.action == "image":
            return {"faces_swapped": swap_image_file(self.session, task.input, output)}
        if task.action == "video":
            report = swap_video_file(self.session, task.input, output, progress)
            return {"frames": report.frames, "frames_swapped": report.frames_swapped}
        if task.segment is None:
            raise RuntimeError(f"Task {task.key} ({task.action}) was planned without its segment.")
        return swap_segment(self.session, task.input, task.segment, output, progress, task.run_in)

    def close(self) -> None:
        self.session.close()
        if self.swapper is not None:
            self.swapper.close()


@dataclass(frozen=True, slots=True)
class ExtractSpec:
    """What every extract worker loads: the extraction options and the reference person's photos."""

    options: Any  # faceforge.facesets.extract.ExtractOptions (imported lazily: it pulls in the analyser)
    reference_photos: list[Path] = field(default_factory=list)


class ExtractWorker:
    """Extracts each input into its own shard faceset (the task's output); the driver merges the shards
    into the job's faceset, so only one process ever writes that index."""

    def __init__(self, spec: ExtractSpec) -> None:
        from faceforge.analysis.analyser import FaceAnalyser
        from faceforge.facesets.extract import load_reference

        self.options = spec.options
        self.analyser = FaceAnalyser()
        self.setup = setup_id()
        self.reference = None
        if spec.reference_photos:
            self.reference = load_reference(
                self.analyser, spec.reference_photos, self.options.reference_threshold
            )

    def run(self, task: Task, progress: Progress | None = None) -> TaskResult:
        return _attempt(task, self._extract, progress, self.setup)

    def _extract(self, task: Task, progress: Progress | None) -> dict[str, Any]:
        from faceforge.facesets.extract import Extractor
        from faceforge.facesets.store import FacesetStore

        output = task.output_path()
        shutil.rmtree(output, ignore_errors=True)  # a shard of a killed attempt starts afresh
        info = self.options.faceset_info(getattr(self.analyser.identity, "name", "unknown"))
        with FacesetStore.open(output, create=True, info=info) as store:
            report = Extractor(store, self.analyser, self.options, self.reference, progress).run(
                [task.input.resolve()]
            )
        return {"faces_added": report.faces_added, "frames_analysed": report.frames_analysed}

    def close(self) -> None:
        self.analyser.close()


def setup_id() -> str:
    """A name for one loading of a worker's models; every task result carries it, so the job record
    shows which tasks shared one loading (they are loaded once per worker, never per task)."""
    return secrets.token_hex(6)


def _attempt(task: Task, work: Any, progress: Progress | None, setup: str) -> TaskResult:
    pause_for_test("task-start")  # tests: a worker holds here, with every earlier result recorded
    start = time.perf_counter()
    try:
        detail = work(task, progress)
    except FaceforgeError as exc:
        return TaskResult(task.key, False, worker_name(), time.perf_counter() - start, str(exc))
    detail = {**detail, "setup": setup}
    return TaskResult(task.key, True, worker_name(), time.perf_counter() - start, None, detail)
