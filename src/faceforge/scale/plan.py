"""What a batch does: its inputs (files, folders, CSV manifests) turned into tasks with fixed outputs.

Every task has a key that names its input (and its segment), so the job record can say which tasks are
done whatever order they ran in. A video cut into segments (``segment_seconds`` > 0: at scene cuts or
keyframes, see :mod:`.cuts`) becomes one task per segment, writing a part file into the job's parts
folder, plus a :class:`Join` that the driver makes once all of that video's segments are done.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faceforge.errors import InputError
from faceforge.media.images import is_image_path
from faceforge.media.probe import is_video_path
from faceforge.media.segments import Segment
from faceforge.scale import CutKind

MANIFEST_SUFFIX = ".csv"
PARTS_DIR = ".faceforge-parts"


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of work for a worker. ``units``: what it adds to the job's progress (frames or images)."""

    key: str
    action: str  # "image", "video", "segment" (swap) or "extract"
    input: Path
    output: Path | None
    units: int = 1
    segment: Segment | None = None
    run_in: int = 0  # frames a segment renders and drops before its first (see scale/video.py)

    def output_path(self) -> Path:
        """Where a swap or extract task writes (the plans give every such task an output)."""
        if self.output is None:
            raise RuntimeError(f"Task {self.key} ({self.action}) was planned without an output.")
        return self.output


@dataclass(frozen=True, slots=True)
class Join:
    """The segments of one video, to be joined into ``output`` with ``input``'s audio."""

    key: str
    input: Path
    output: Path
    parts: tuple[Path, ...]
    segment_keys: tuple[str, ...]
    starts: tuple[int, ...]  # each segment's first pts, in the input's video time base


@dataclass(slots=True)
class Plan:
    tasks: list[Task] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(task.units for task in self.tasks)


@dataclass(frozen=True, slots=True)
class Item:
    """One input file and where its output goes, relative to the job's output folder."""

    input: Path
    relative: Path


def _media(path: Path) -> bool:
    return is_image_path(path) or is_video_path(path)


def _read_manifest(manifest: Path) -> list[Item]:
    """Rows ``input[,output]`` of a CSV file with a header; relative inputs are read from its folder."""
    try:
        with manifest.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"Cannot read the manifest {manifest}: {exc}.") from exc
    if not rows or "input" not in rows[0]:
        raise InputError(f"The manifest {manifest} needs a header row with an 'input' column.")
    items = []
    for number, row in enumerate(rows, start=2):
        name = (row.get("input") or "").strip()
        if not name:
            raise InputError(f"Row {number} of the manifest {manifest} has no input.")
        path = Path(name) if Path(name).is_absolute() else manifest.parent / name
        if not path.is_file():
            raise InputError(f"Row {number} of the manifest {manifest} names {path}, which is not a file.")
        wanted = (row.get("output") or "").strip()
        items.append(Item(path, Path(wanted) if wanted else Path(path.name)))
    return items


def expand(inputs: Sequence[Path]) -> list[Item]:
    """The media files named, found in folders (recursively, sorted) or listed in manifests.

    A folder's files keep their place inside it (``folder/a/b.jpg`` → ``a/b.jpg``); a named file or a
    manifest row without an output keeps its name. Two inputs that would write the same output are refused.
    """
    items: list[Item] = []
    for given in inputs:
        given = Path(given)
        if given.is_dir():
            for path in sorted(given.rglob("*")):
                if path.is_file() and _media(path) and not any(p.startswith(".") for p in path.parts):
                    items.append(Item(path, path.relative_to(given)))
        elif not given.exists():
            raise InputError(f"Cannot read {given}: the file does not exist.")
        elif given.suffix.lower() == MANIFEST_SUFFIX:
            items.extend(_read_manifest(given))
        elif _media(given):
            items.append(Item(given, Path(given.name)))
        else:
            raise InputError(
                f"Cannot read {given}: it is neither an image, a video, a folder nor a .csv manifest."
            )
    if not items:
        raise InputError("No image or video was found in the given inputs.")
    seen: dict[Path, Path] = {}
    unique = list(dict.fromkeys(items))  # a file named twice (in a folder and a manifest) runs once
    for item in unique:
        if item.relative.is_absolute() or ".." in item.relative.parts:
            raise InputError(
                f"The output name {item.relative} of {item.input} must stay inside the output folder."
            )
        other = seen.setdefault(item.relative, item.input)
        if other != item.input:
            raise InputError(
                f"{other} and {item.input} would both be written to {item.relative}; rename one."
            )
    return unique


def task_key(path: Path, segment: int | None = None) -> str:
    key = str(Path(path).resolve())
    return key if segment is None else f"{key}#segment{segment}"


def swap_plan(
    items: Sequence[Item], output: Path, segment_seconds: float, cuts: CutKind = CutKind.scenes
) -> Plan:
    """Swap tasks: each image and video into ``output``, long videos as segments when asked, cut at
    ``cuts`` (scene cuts or keyframes, see :mod:`.cuts`)."""
    from faceforge.media.video import probe_video
    from faceforge.scale.cuts import video_segments

    plan = Plan()
    for item in items:
        target = output / item.relative
        if is_image_path(item.input):
            plan.tasks.append(Task(task_key(item.input), "image", item.input, target))
            continue
        segments, run_in = (
            video_segments(item.input, segment_seconds, cuts) if segment_seconds > 0 else ([], 0)
        )
        if len(segments) <= 1:
            frames = probe_video(item.input).frame_count
            plan.tasks.append(Task(task_key(item.input), "video", item.input, target, frames))
            continue
        digest = hashlib.sha256(task_key(item.input).encode()).hexdigest()[:16]
        parts, keys = [], []
        for segment in segments:
            part = output / PARTS_DIR / f"{digest}-{segment.index:04d}{target.suffix}"
            key = task_key(item.input, segment.index)
            plan.tasks.append(Task(key, "segment", item.input, part, segment.frames, segment, run_in))
            parts.append(part)
            keys.append(key)
        starts = tuple(segment.start_pts for segment in segments)
        plan.joins.append(Join(task_key(item.input), item.input, target, tuple(parts), tuple(keys), starts))
    return plan


def extract_plan(items: Sequence[Item], shards: Path) -> Plan:
    """Extract tasks: each input into its own shard faceset under ``shards``, merged by the driver."""
    from faceforge.media.video import probe_video

    plan = Plan()
    for item in items:
        frames = probe_video(item.input).frame_count if is_video_path(item.input) else 1
        digest = hashlib.sha256(task_key(item.input).encode()).hexdigest()[:16]
        plan.tasks.append(Task(task_key(item.input), "extract", item.input, shards / digest, frames))
    return plan
