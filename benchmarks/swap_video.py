"""Frames per second of the default video swap, against a plain decode+encode floor, and peak memory.

Prints one JSON line per figure on stdout:

- ``fps`` of ``faceforge swap``'s defaults (mesh swapper, ``face_frontal_a.jpg`` as the source) on the
  720p clip (``talking_audio.mp4``, 289 frames) and the 1080p clip (``short_1080p_1s.mp4`` looped 4x to
  96 frames), timed over ``swap_video_file`` (open, swap, encode, close; session setup excluded);
- ``floor_fps``: the same video decoded and re-encoded with the same reader/writer classes and codec
  settings (libx264, CRF 18, preset veryfast, audio copied) and nothing else, measured in the same run;
- ``ratio_to_floor``: swap time / floor time; ``cpu_ms_per_frame`` and ``floor_cpu_ms_per_frame``: CPU time
  of all threads per frame (a figure a busy machine disturbs less than wall time);
- ``thread_cpu_ms_per_frame``: the best swap run's CPU time per frame in each thread (``MainThread``
  analyses and swaps, ``faceforge-render`` composes, ``faceforge-encode``/``-decode`` feed the codecs,
  ``native`` is every thread Python did not start: x264's, MediaPipe's, OpenCV's); ``idle_2_core_fps_bound``
  is the frame rate two idle cores would allow at that CPU cost, ``frames / max(busiest Python thread,
  all threads / 2)``: a loaded machine inflates CPU times a little, so it is an estimate, not a measurement;
- ``peak_rss_mb_1x``, ``peak_rss_mb_5x`` and ``rss_ratio_5x_to_1x``: peak RSS (VmHWM) of a fresh child process
  swapping the 720p clip once, and looped five times (streaming must keep memory flat).

- ``stage_ms_per_frame`` (``--only stages``): where the 720p swap's time goes, per frame: ``decode`` (the
  reader alone), ``encode`` (decode + encode floor minus decode), and, timed while the video run's own
  stream (``assigned_batches``) and engine render every frame one after the other in one thread (no
  encoding, no overlap), ``detect`` (BlazeFace), ``landmarks`` (FaceMesh, on detections and on followed
  tracks), ``swap`` (the swapper's batched call) and ``compose`` (mask, colour, blend, paste-back);
  ``other`` is the rest of that walk (alignment, tracking, selection, waiting for the decoder).

- ``stage_cost_ms_per_frame`` (``--only stage-costs``): what each default compose stage and the mesh
  swapper's ``shape`` cost on the 720p clip: the frames are analysed once, then swapped and composed with
  all defaults and with one stage off at a time (``shading`` -> Reinhard, ``seam``, ``texture``,
  ``occluder``, ``shape`` 0), CPU time of the swap and compose calls per frame, interleaved rounds, best
  of each; ``cost`` is the default's figure minus the one with the stage off.

Usage: ``python benchmarks/swap_video.py [--quick] [--repeat N] [--only fps|memory|stages|stage-costs]``.
``--quick`` uses the first 96 frames of the 720p clip only and skips the 5x memory run.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import av

TESTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
SOURCE = TESTDATA / "face_frontal_a.jpg"
CLIP_720 = TESTDATA / "talking_audio.mp4"
CLIP_1080 = TESTDATA / "short_1080p_1s.mp4"


def emit(clip: str, metric: str, value: float, **extra: object) -> None:
    record = {"benchmark": "swap_video", "clip": clip, "metric": metric, "value": round(value, 3), **extra}
    print(json.dumps(record), flush=True)


def loop_video(src: Path, dst: Path, times: int, max_frames: int | None = None) -> Path:
    """``src``'s video and audio packets repeated ``times`` times, timestamps shifted (no re-encode)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        streams = {
            s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")
        }
        video = inp.streams.video[0]
        span: dict[int, int] = {}
        packets = []
        kept = 0
        for packet in inp.demux(*[inp.streams[i] for i in streams]):
            if packet.dts is None:
                continue
            if packet.stream.index == video.index:
                if max_frames is not None and kept >= max_frames:
                    continue
                kept += 1
            packets.append(packet)
        for packet in packets:
            dur = packet.duration or 0
            end = (packet.pts if packet.pts is not None else packet.dts) + dur
            span[packet.stream.index] = max(span.get(packet.stream.index, 0), end)
        # One common period so video and audio stay in step: the longer stream's length, in seconds.
        period = max(span[i] * inp.streams[i].time_base for i in span)
        for loop in range(times):
            for packet in packets:
                index = packet.stream.index
                shift = round(loop * period / inp.streams[index].time_base)
                copy = av.Packet(bytes(packet))
                copy.pts = None if packet.pts is None else packet.pts + shift
                copy.dts = packet.dts + shift
                copy.duration = packet.duration
                copy.is_keyframe = packet.is_keyframe
                copy.time_base = packet.time_base
                copy.stream = streams[index]
                out.mux(copy)
    return dst


def cpu_seconds() -> float:
    """CPU time of this process, all threads (less sensitive than wall time to a busy machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ThreadCpu:
    """CPU seconds of each thread of this process while the block runs, by thread name (threads that
    Python did not start, such as x264's, MediaPipe's and OpenCV's pools, are summed as ``native``).

    /proc is polled every ``interval`` seconds by a thread of its own (its cost is left out), so a thread
    that ends loses at most one interval of its time. The busiest Python thread bounds the frame rate
    of 2 idle cores as much as the total does: ``fps <= frames / max(busiest, total / 2)``.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.seconds: dict[str, float] = defaultdict(float)
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="bench-thread-cpu", daemon=True)

    def __enter__(self) -> ThreadCpu:
        self._baseline = self._read({})
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for tid, (name, seconds) in self._last.items():
            self.seconds[name] += seconds - self._baseline.get(tid, ("", 0.0))[1]

    def _read(self, names: dict[int, str]) -> dict[int, tuple[str, float]]:
        ticks = os.sysconf("SC_CLK_TCK")
        found = {}
        for task in Path("/proc/self/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended between the listing and the read
                continue
            tid = int(task.name)
            found[tid] = (names.get(tid, "native"), (int(fields[11]) + int(fields[12])) / ticks)
        return found

    def _poll(self) -> None:
        own = threading.get_native_id()
        while not self._stop.wait(self.interval):
            names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
            current = self._read(names)
            current.pop(own, None)
            self._last.update(current)


def floor_run(clip: Path, output: Path) -> tuple[int, float, float]:
    """Decode + encode only, with the same classes and settings as the swap pipeline."""
    from faceforge.config import VideoOptions
    from faceforge.media.video import VideoWriter, probe_video, read_frames

    options = VideoOptions()
    info = probe_video(clip)
    start, cpu = time.perf_counter(), cpu_seconds()
    frames = 0
    with VideoWriter(
        output, info, source_path=clip, codec=options.codec, crf=options.crf, preset=options.preset
    ) as w:
        for frame in read_frames(clip):
            w.write(frame)
            frames += 1
    return frames, time.perf_counter() - start, cpu_seconds() - cpu


def swap_run(clip: Path, output: Path, threads: dict[str, float] | None = None) -> tuple[int, float, float]:
    """Frames, wall seconds and CPU seconds of one swap; ``threads`` receives each thread's CPU seconds."""
    from faceforge.config import SwapConfig
    from faceforge.pipeline.session import SwapSession
    from faceforge.pipeline.video import swap_video_file

    with SwapSession([[SOURCE]], SwapConfig()) as session, ThreadCpu() as per_thread:
        start, cpu = time.perf_counter(), cpu_seconds()
        report = swap_video_file(session, clip, output)
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if threads is not None:
        threads.update(per_thread.seconds)
    return report.frames, elapsed, cpu


def measure_fps(name: str, clip: Path, work: Path, repeat: int) -> None:
    floors, swaps = [], []
    frames = 0
    for i in range(repeat):  # interleaved, best of each: the machine's noise hits both alike
        frames, seconds, cpu = floor_run(clip, work / f"floor_{name}_{i}.mp4")
        floors.append((seconds, cpu))
        threads: dict[str, float] = {}
        frames_swapped, seconds, cpu = swap_run(clip, work / f"swap_{name}_{i}.mp4", threads)
        assert frames_swapped == frames, (frames_swapped, frames)
        swaps.append((seconds, cpu, threads))
    (floor, floor_cpu), (swap, swap_cpu, threads) = min(floors), min(swaps, key=lambda run: run[0])
    for thread, seconds in sorted(threads.items()):
        emit(name, "thread_cpu_ms_per_frame", 1000 * seconds / frames, thread=thread, frames=frames)
    busiest = max(seconds for thread, seconds in threads.items() if thread != "native")
    emit(name, "idle_2_core_fps_bound", frames / max(busiest, swap_cpu / 2), frames=frames)
    emit(name, "fps", frames / swap, frames=frames)
    emit(name, "floor_fps", frames / floor, frames=frames)
    emit(name, "ratio_to_floor", swap / floor, frames=frames)
    emit(name, "cpu_ms_per_frame", 1000 * swap_cpu / frames, frames=frames)
    emit(name, "floor_cpu_ms_per_frame", 1000 * floor_cpu / frames, frames=frames)


def child_peak_rss_mb(clip: Path, output: Path) -> float:
    """Peak RSS (MiB) of a fresh interpreter that swaps ``clip``."""
    # The child's own high-water mark (VmHWM, KiB). Not ru_maxrss: on Linux a child's ru_maxrss starts from
    # the parent's peak at fork time, so a parent that has already swapped reports its own peak for both.
    code = (
        "import sys, resource; sys.path.insert(0, sys.argv[3]);"
        "from swap_video import swap_run; from pathlib import Path;"
        "swap_run(Path(sys.argv[1]), Path(sys.argv[2]));"
        "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')];"
        "print(hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(clip), str(output), str(Path(__file__).parent)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024.0  # Linux reports KiB


def measure_memory(clip_1x: Path, work: Path, quick: bool) -> None:
    rss_1x = child_peak_rss_mb(clip_1x, work / "mem_1x.mp4")
    emit("720p", "peak_rss_mb_1x", rss_1x)
    if quick:
        return
    clip_5x = loop_video(CLIP_720, work / "talking_5x.mp4", 5)
    rss_5x = child_peak_rss_mb(clip_5x, work / "mem_5x.mp4")
    emit("720p", "peak_rss_mb_5x", rss_5x, frames=5 * 289)
    emit("720p", "rss_ratio_5x_to_1x", rss_5x / rss_1x)


@contextmanager
def timed_methods(methods: dict[str, tuple[type, str]]) -> Iterator[dict[str, float]]:
    """Seconds spent in each ``(class, method)`` while the block runs, summed over calls and threads,
    keyed by the stage name; the classes are restored afterwards."""
    spent: dict[str, float] = defaultdict(float)
    originals = {stage: getattr(cls, name) for stage, (cls, name) in methods.items()}

    def wrap(stage: str, method: Callable[..., object]) -> Callable[..., object]:
        @functools.wraps(method)
        def timed(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - start

        return timed

    for stage, (cls, name) in methods.items():
        setattr(cls, name, wrap(stage, originals[stage]))
    try:
        yield spent
    finally:
        for stage, (cls, name) in methods.items():
            setattr(cls, name, originals[stage])


def measure_stages(clip: Path, work: Path) -> None:
    from faceforge.analysis.landmarks import FaceMeshFollower
    from faceforge.compose.compositor import Compositor
    from faceforge.config import SwapConfig
    from faceforge.media.video import read_frames
    from faceforge.pipeline.session import SwapSession
    from faceforge.pipeline.stream import assigned_batches

    start = time.perf_counter()
    frames = sum(1 for _ in read_frames(clip))
    decode = time.perf_counter() - start
    _, floor, _ = floor_run(clip, work / "stages_floor.mp4")
    with SwapSession([[SOURCE]], SwapConfig()) as session:
        analyser = session.analyser
        methods = {
            "detect": (type(analyser.detector), "detect"),
            "landmarks": (type(analyser.landmarker), "landmarks"),
            "followed_landmarks": (FaceMeshFollower, "landmarks"),
            "swap": (type(session.engine.swapper), "swap"),
            "compose": (Compositor, "compose"),
        }
        rendered = 0
        with timed_methods(methods) as spent:
            start = time.perf_counter()
            for batch, assignments in assigned_batches(session, read_frames(clip)):
                rendered += len(session.engine.apply([f.image for f in batch], assignments))
            wall = time.perf_counter() - start
    assert rendered == frames, (rendered, frames)
    stages = {
        "decode": decode,
        "encode": max(floor - decode, 0.0),
        "detect": spent["detect"],
        "landmarks": spent["landmarks"] + spent["followed_landmarks"],
        "swap": spent["swap"],
        "compose": spent["compose"],
    }
    inside_run = ("detect", "landmarks", "swap", "compose")
    stages["other"] = max(wall - sum(stages[k] for k in inside_run), 0.0)
    for stage, seconds in stages.items():
        emit("720p", "stage_ms_per_frame", 1000 * seconds / frames, stage=stage, frames=frames)
    emit("720p", "fps_one_thread_no_encode", frames / wall, frames=frames)


def stage_variants() -> dict[str, object]:
    """The default config and, per stage of issue 11's compose and swap work, the same with it off."""
    from dataclasses import replace

    from faceforge.config import SwapConfig, configured

    default = SwapConfig()
    compose = default.compose
    return {
        "defaults": default,
        "shading": replace(default, compose=replace(compose, color="reinhard")),
        "seam": replace(default, compose=replace(compose, seam=False)),
        "texture": replace(default, compose=replace(compose, texture=False)),
        "occluder": replace(default, compose=replace(compose, occlusion=())),
        "shape": configured(default, {"swappers.mesh.shape": 0.0}),
    }


def measure_stage_costs(clip: Path, repeat: int) -> None:
    from faceforge.config import SwapConfig
    from faceforge.media.video import read_frames
    from faceforge.pipeline.session import SwapSession
    from faceforge.pipeline.stream import assigned_batches

    frames = list(read_frames(clip))
    with SwapSession([[SOURCE]], SwapConfig()) as session:
        batches = list(assigned_batches(session, iter(frames)))
    variants = stage_variants()
    sessions = {name: SwapSession([[SOURCE]], config) for name, config in variants.items()}
    best: dict[str, dict[str, float]] = defaultdict(lambda: {"swap": float("inf"), "compose": float("inf")})
    try:
        for _ in range(max(2, repeat)):  # interleaved: the machine's drift hits every variant alike
            for name, session in sessions.items():
                session.compositor.reset()
                spent = {"swap": 0.0, "compose": 0.0}
                for batch, assignments in batches:
                    cpu = time.process_time()
                    swapped = session.engine.swap([f.image for f in batch], assignments)
                    spent["swap"] += time.process_time() - cpu
                    cpu = time.process_time()
                    session.engine.compose(swapped)
                    spent["compose"] += time.process_time() - cpu
                for part, seconds in spent.items():
                    best[name][part] = min(best[name][part], 1000 * seconds / len(frames))
    finally:
        for session in sessions.values():
            session.close()
    for name, parts in best.items():
        total = parts["swap"] + parts["compose"]
        extra = {} if name == "defaults" else {"cost": round(sum(best["defaults"].values()) - total, 3)}
        emit("720p", "stage_cost_ms_per_frame", total, variant=name, frames=len(frames), **parts, **extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="96 frames of 720p only, no 5x memory run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (best is reported)")
    parser.add_argument(
        "--only", choices=("fps", "memory", "stages", "stage-costs"), help="one kind of figure only"
    )
    args = parser.parse_args()
    emit("-", "load_avg_1min_at_start", os.getloadavg()[0], cores=os.cpu_count())
    with tempfile.TemporaryDirectory(prefix="faceforge-bench-") as tmp:
        work = Path(tmp)
        clip_720 = loop_video(CLIP_720, work / "talking_96.mp4", 1, max_frames=96) if args.quick else CLIP_720
        if args.only in (None, "fps"):
            measure_fps("720p", clip_720, work, args.repeat)
            if not args.quick:
                clip_1080 = loop_video(CLIP_1080, work / "short_1080p_4x.mp4", 4)
                measure_fps("1080p", clip_1080, work, args.repeat)
        if args.only in (None, "memory"):
            measure_memory(clip_720, work, args.quick)
        if args.only in (None, "stages"):
            measure_stages(clip_720, work)
        if args.only in (None, "stage-costs"):
            measure_stage_costs(clip_720, args.repeat)
    emit("-", "load_avg_1min_at_end", os.getloadavg()[0], cores=os.cpu_count())


if __name__ == "__main__":
    main()
