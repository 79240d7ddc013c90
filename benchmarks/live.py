"""Latency and throughput of ``faceforge live`` with a video file standing in for a camera.

The clip is read at its own frame rate (as a camera delivers frames) and swapped with the defaults
(mesh swapper, tracker and smoothing, one frame per batch) into a discarded in-memory sink, so the
figures are the swap path's own: no window, no encoder. Prints one JSON line per figure:

- ``latency_median_ms`` / ``latency_p95_ms``: from a frame's arrival to its swapped image being handed
  to the output, over the frames written;
- ``fps_out``: frames written per second of the run; ``fps_in``: the clip's rate;
- ``dropped_share``: frames replaced in the latest-frame slot before the swap could take them.

Usage: ``python benchmarks/live.py [--clip NAME] [--repeat N]`` (default ``talking_audio_3s.mp4``,
640x360, 90 frames at 30 fps; ``face_frontal_a.jpg`` as the source).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"


class Discard:
    """A sink that keeps nothing: the benchmark measures the swap path, not an encoder or a display."""

    stopped = False

    def write(self, image: np.ndarray, time_ms: int) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default="talking_audio_3s.mp4")
    parser.add_argument("--source", default="face_frontal_a.jpg")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from faceforge.live.sources import FrameSource
    from faceforge.live.stream import run_live
    from faceforge.pipeline.session import SwapSession

    with SwapSession([[TESTDATA / args.source]]) as session:
        for run in range(args.repeat):
            source = FrameSource(str(TESTDATA / args.clip))
            started = time.perf_counter()
            stats = run_live(session, source, Discard())
            elapsed = time.perf_counter() - started
            common = {"benchmark": "live", "clip": args.clip, "run": run, "cpus": os.cpu_count()}
            figures = {
                "latency_median_ms": stats.percentile(50),
                "latency_p95_ms": stats.percentile(95),
                "fps_in": source.fps,
                "fps_out": stats.frames_out / elapsed,
                "dropped_share": stats.dropped / max(1, stats.frames_in),
                "frames_in": stats.frames_in,
            }
            for metric, value in figures.items():
                print(json.dumps({**common, "metric": metric, "value": round(float(value), 3)}), flush=True)


if __name__ == "__main__":
    main()
