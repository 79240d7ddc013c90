"""Faceset extraction speed: faces per second on the 720p and 1080p test clips, and where the time goes.

Prints one JSON line per clip on stdout: ``faces_per_s`` and ``frames_per_s`` over the whole extraction
(decode → detect/follow → align and measure → identity → write crops → index), models loaded beforehand
and not timed, and ``share`` (fraction of the wall time) per stage. ``faces_per_cpu_s`` divides by the
process's CPU time (all threads) instead: on a machine shared with other jobs it is the steadier figure,
and twice it bounds what two idle cores could do. ``decode`` is the time the loop
waited for the background decoder thread, so decoding that overlaps the analysis is not counted twice.

Usage: ``python benchmarks/extract.py [--clips NAME...] [--threads T] [--every N] [--repeat R]``.
Each figure is the best of R runs (default 1) into a fresh faceset in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
CLIPS = ("talking_audio.mp4", "short_1080p_1s.mp4")


def run_once(clip: Path, every: int, analyser) -> dict[str, object]:
    from faceforge.facesets.extract import ExtractOptions, extract_faceset

    with tempfile.TemporaryDirectory() as folder:
        start, cpu_start = time.perf_counter(), time.process_time()
        report = extract_faceset([clip], Path(folder) / "set", ExtractOptions(every=every), analyser)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "faces": report.faces_added,
        "frames": report.frames_analysed,
        "seconds": round(wall, 2),
        "faces_per_s": round(report.faces_added / wall, 1),
        "frames_per_s": round(report.frames_analysed / wall, 1),
        "cpu_s": round(cpu, 2),
        "faces_per_cpu_s": round(report.faces_added / cpu, 1),
        "share": {stage: round(s / wall, 3) for stage, s in report.seconds.items()},
        "other_share": round(1 - sum(report.seconds.values()) / wall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from faceforge.analysis.analyser import FaceAnalyser
    from faceforge.media.video import probe_video

    with FaceAnalyser() as analyser:
        analyser.identity  # noqa: B018 - load the identity network before timing
        for name in args.clips:
            clip = TESTDATA / name
            info = probe_video(clip)
            best = max(
                (run_once(clip, args.every, analyser) for _ in range(args.repeat)),
                key=lambda r: r["faces_per_s"],
            )
            record = {
                "benchmark": "extract",
                "clip": name,
                "resolution": f"{info.width}x{info.height}",
                "every": args.every,
                "threads": torch.get_num_threads(),
                "cpus": os.cpu_count(),
                "load_avg": round(os.getloadavg()[0], 1),
                **best,
            }
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
