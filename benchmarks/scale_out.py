"""Throughput of ``faceforge batch swap`` on the segments of the 720p clip, with 1 and 2 local Ray
workers, against the plain one-machine swap of the same clip.

Prints one JSON line per figure on stdout:

- ``plain``: ``swap_video_file`` on the whole clip (``wall_s`` with the session's setup, ``fps`` without);
- ``in_process``: ``batch_swap`` with ``--workers 0`` (the same segments, one after another, no Ray);
- ``ray_1`` and ``ray_2``: ``batch_swap`` on a local Ray instance with 1 and 2 workers, wall time of the
  whole job (Ray start, actors loading the models, segments, join);
- ``overhead_vs_plain``: a job's wall time divided by the plain run's;
- ``mean_abs_diff_vs_plain``: mean absolute pixel difference (0-255) between the segmented result and the
  plain run, over all frames, and ``identical_frames`` between the ray_2 and in_process results.

Usage: ``python benchmarks/scale_out.py [--segment-seconds S] [--clip PATH]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from faceforge.config import SwapConfig
from faceforge.media.video import read_frames
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.video import swap_video_file
from faceforge.scale.batch import batch_swap
from faceforge.scale.cuts import scene_segments
from faceforge.scale.runner import Cluster
from faceforge.scale.workers import SwapSpec

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
SOURCE = TESTDATA / "face_frontal_a.jpg"
CLIP_720 = TESTDATA / "talking_audio.mp4"


def emit(run: str, metric: str, value: float, **extra: object) -> None:
    record = {"benchmark": "scale_out", "run": run, "metric": metric, "value": round(value, 3), **extra}
    print(json.dumps(record), flush=True)


def frames_of(path: Path) -> list[np.ndarray]:
    return [frame.image for frame in read_frames(path)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clip", type=Path, default=CLIP_720)
    parser.add_argument("--segment-seconds", type=float, default=2.0)
    args = parser.parse_args()
    logging.getLogger("ray").setLevel(logging.ERROR)
    segments = scene_segments(args.clip, args.segment_seconds)
    frames = sum(s.frames for s in segments)
    cuts = [s.first_frame for s in segments]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        with SwapSession([[SOURCE]], SwapConfig()) as session:
            swap_start = time.perf_counter()
            swap_video_file(session, args.clip, work / "plain.mp4")
            end = time.perf_counter()
        plain_wall = end - start
        emit("plain", "wall_s", plain_wall, frames=frames)
        emit("plain", "fps", frames / (end - swap_start))
        plain = frames_of(work / "plain.mp4")
        results = {}
        spec = SwapSpec([[SOURCE]], SwapConfig())
        for run, workers in (("in_process", 0), ("ray_1", 1), ("ray_2", 2)):
            output = work / run
            shutil.rmtree(output, ignore_errors=True)
            start = time.perf_counter()
            report = batch_swap([args.clip], output, spec, Cluster(workers=workers), args.segment_seconds)
            wall = time.perf_counter() - start
            assert report.complete, report.failed
            emit(run, "wall_s", wall, segments=len(segments), cuts=cuts)
            emit(run, "fps", frames / wall)
            emit(run, "overhead_vs_plain", wall / plain_wall)
            results[run] = frames_of(output / args.clip.name)
            diff = np.mean(
                [np.abs(a.astype(np.int16) - b).mean() for a, b in zip(results[run], plain, strict=True)]
            )
            emit(run, "mean_abs_diff_vs_plain", float(diff))
        same = sum(np.array_equal(a, b) for a, b in zip(results["ray_2"], results["in_process"], strict=True))
        emit("ray_2", "identical_frames", same, of=frames)


if __name__ == "__main__":
    main()
