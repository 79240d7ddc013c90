"""Batch jobs: swap (or convert) many inputs into an output folder, or extract them into one faceset.

A job is planned from its inputs (:mod:`.plan`), its finished tasks are read from the job record
(:mod:`.jobs`), the rest run on workers (:mod:`.runner`), and then the driver does the steps that need
one writer: joining the segments of each video, merging the shard facesets. The output is held under an
:class:`~faceforge.outputs.OutputLock` for the whole job, so two drivers never work on one output.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from faceforge.errors import InputError, NoFaceError
from faceforge.outputs import OutputLock, check_output
from faceforge.progress import Progress
from faceforge.scale import CutKind
from faceforge.scale.jobs import JOB_NAME, JobRecord
from faceforge.scale.plan import PARTS_DIR, Item, Plan, Task, expand, extract_plan, swap_plan
from faceforge.scale.runner import Cluster, run_tasks
from faceforge.scale.workers import ExtractSpec, ExtractWorker, SwapSpec, SwapWorker

SHARDS_DIR = ".faceforge-shards"


@dataclass(slots=True)
class BatchReport:
    inputs: int = 0
    done: list[str] = field(default_factory=list)  # outputs finished by this run
    skipped: list[str] = field(default_factory=list)  # outputs a previous run had finished
    failed: list[tuple[str, str]] = field(default_factory=list)  # (task, one sentence)
    faces_added: int = 0  # extract: faces merged into the faceset by this run

    @property
    def complete(self) -> bool:
        return not self.failed


def _settings(
    action: str, spec: SwapSpec | ExtractSpec, segment_seconds: float, cuts: CutKind = CutKind.scenes
) -> dict[str, object]:
    """What must not change between a job and its rerun: the action, the cut points, the people and every
    option by its dotted key (so a refusal can say which ones changed)."""
    settings: dict[str, object] = {"action": action, "segment_seconds": segment_seconds}
    if segment_seconds > 0:
        settings["cuts"] = cuts
    if isinstance(spec, SwapSpec):
        from faceforge.config import swap_settings

        settings.update(
            sources=spec.sources,
            references=spec.references,
            model=spec.model,
            direction=spec.direction,
            checkpoint=spec.checkpoint,
            learned_mask=spec.learned_mask,
        )
        settings.update({f"swap.{key}": value for key, value in swap_settings(spec.config).items()})
    else:
        settings["reference_photos"] = spec.reference_photos
        settings.update({f"extract.{key}": value for key, value in asdict(spec.options).items()})
    return json.loads(json.dumps(settings, default=str))


def _check_outside(output: Path, items: Sequence[Item], given: Sequence[Path]) -> None:
    check_output(output, [*given, *(item.input for item in items)])
    out = output.resolve()
    for folder in given:
        if Path(folder).is_dir() and out.is_relative_to(Path(folder).resolve()):
            raise InputError(
                f"The output {output} is inside the input folder {folder}, so a rerun would take the "
                "outputs for inputs; choose an output folder outside it."
            )


def batch_swap(
    inputs: Sequence[Path],
    output: Path,
    spec: SwapSpec,
    cluster: Cluster,
    segment_seconds: float = 0.0,
    job: Path | None = None,
    progress: Progress | None = None,
    cuts: CutKind = CutKind.scenes,
) -> BatchReport:
    """Swap every input into the folder ``output`` (same relative names); videos cut into segments of
    about ``segment_seconds`` (0: whole) at ``cuts`` (scene cuts or keyframes, see
    :mod:`~faceforge.scale.cuts`) are swapped segment by segment and joined."""
    items = expand(inputs)
    _check_outside(output, items, inputs)
    cluster.check_reachable()
    with OutputLock(output):
        output.mkdir(parents=True, exist_ok=True)
        plan = swap_plan(items, output, segment_seconds, cuts)
        settings = _settings("swap", spec, segment_seconds, cuts)
        with JobRecord(job or output / JOB_NAME, settings) as record:
            report = _run(plan, SwapWorker, spec, cluster, record, progress, len(items))
            _join_videos(plan, record, report)
        _remove_if_empty(output / PARTS_DIR)
    return report


def _remove_if_empty(folder: Path) -> None:
    """Remove a job's working folder (parts, shards) once nothing in it is still needed."""
    try:
        folder.rmdir()
    except OSError:
        return  # absent, or it still holds the parts or shards of unfinished tasks


def _run(
    plan: Plan,
    factory: type,
    spec: object,
    cluster: Cluster,
    record: JobRecord,
    progress: Progress | None,
    inputs: int,
) -> BatchReport:
    done = record.done()
    joined = {key for join in plan.joins if join.key in done for key in join.segment_keys}
    todo: list[Task] = []
    skipped: list[Task] = []
    for task in plan.tasks:
        finished = task.key in done and (
            task.key in joined or (task.output is not None and task.output.exists())
        )
        (skipped if finished else todo).append(task)
    job = run_tasks(todo, factory, spec, cluster, record, progress, sum(t.units for t in skipped), plan.units)
    report = BatchReport(inputs=inputs, failed=list(job.failed))
    finished_now, finished_before = set(job.done), {task.key for task in skipped}
    for task in plan.tasks:
        if task.action == "segment":
            continue  # a video's segments are reported as the joined video
        if task.key in finished_now:
            report.done.append(str(task.output))
        elif task.key in finished_before:
            report.skipped.append(str(task.output))
    return report


def _join_videos(plan: Plan, record: JobRecord, report: BatchReport) -> None:
    from faceforge.scale.video import join_parts

    done = record.done()
    for join in plan.joins:
        if join.key in done and join.output.exists():
            report.skipped.append(str(join.output))
            continue
        if not all(key in done for key in join.segment_keys):
            continue  # the failed segments are already reported
        swapped = sum(
            int(row.detail.get("frames_swapped", 0)) for key in join.segment_keys if (row := record.task(key))
        )
        if swapped == 0:
            error = str(NoFaceError(f"No face to swap was found in any frame of {join.input}."))
            record.mark_failed(join.key, error)
            report.failed.append((join.key, error))
            continue
        frames = join_parts(join.input, list(join.parts), join.output, join.starts)
        record.mark_done(join.key, None, None, {"frames": frames, "frames_swapped": swapped})
        report.done.append(str(join.output))
        for part in join.parts:
            part.unlink(missing_ok=True)


def batch_extract(
    inputs: Sequence[Path],
    faceset: Path,
    spec: ExtractSpec,
    cluster: Cluster,
    job: Path | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    """Extract every input's faces into the one faceset ``faceset``: each input into a shard on a worker,
    the shards merged here in the inputs' order."""
    from faceforge.facesets.store import FacesetStore
    from faceforge.scale.shards import merge_shard, shard_info

    items = expand(inputs)
    _check_outside(faceset, items, inputs)
    spec.options.validate()
    cluster.check_reachable()
    with OutputLock(faceset):
        faceset.mkdir(parents=True, exist_ok=True)
        plan = extract_plan(items, faceset / SHARDS_DIR)
        with JobRecord(job or faceset / JOB_NAME, _settings("extract", spec, 0.0)) as record:
            merged = {key.removeprefix("merged:") for key in record.done() if key.startswith("merged:")}
            plan.tasks = [t for t in plan.tasks if t.key not in merged]
            report = _run(plan, ExtractWorker, spec, cluster, record, progress, len(items))
            report.skipped = [str(item.input) for item in items if str(item.input.resolve()) in merged]
            report.done = []
            done = record.done()
            ready = [(t, t.output) for t in plan.tasks if t.key in done and t.output and t.output.exists()]
            if ready:
                with FacesetStore.open(faceset, create=True, info=shard_info(ready[0][1])) as store:
                    for task, shard in ready:  # in the inputs' order, whatever order the workers finished in
                        report.faces_added += merge_shard(store, shard)
                        record.mark_done(f"merged:{task.key}", None, None)
                        shutil.rmtree(shard, ignore_errors=True)
                        report.done.append(str(task.input))
        _remove_if_empty(faceset / SHARDS_DIR)
    return report
