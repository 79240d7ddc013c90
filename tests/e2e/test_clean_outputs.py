"""The command on inputs and interruptions that used to leave a mess or mislead: a video cut short, a
video of huge frames, stale temporaries of killed runs (and ``faceforge clean``), a 249-character output
name, and SIGINT/SIGTERM at the very end of writing. Each checks the sentence, the exit code and that the
inputs are byte-identical afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from faceforge.media.atomic import PAUSE_ENV, TEMP_PREFIX
from faceforge.media.video import probe_video, read_frames

FACEFORGE = Path(sys.executable).parent / "faceforge"
SOURCE = "face_frontal_a.jpg"
TARGET = "face_frontal_b.jpg"


def run(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FACEFORGE), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
    )


def digests(*paths: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("error:", "warning:"))]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# ----- a video cut short


@pytest.fixture
def cut_video(testdata: Path, tmp_path: Path) -> Path:
    """talking_audio_3s.mp4 (index at the start, 90 frames) cut at 60 % of its bytes."""
    data = (testdata / "talking_audio_3s.mp4").read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


@pytest.mark.slow
def test_truncated_video_is_swapped_with_a_warning(testdata: Path, tmp_path: Path, cut_video: Path) -> None:
    before = digests(testdata / SOURCE, cut_video)
    out = tmp_path / "out.mp4"
    done = run("swap", testdata / SOURCE, cut_video, "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    reader = read_frames(cut_video)
    decoded = sum(1 for _ in reader)
    assert reader.frames_expected == 90 and 0 < decoded < 90
    assert errors(done.stderr) == [
        f"warning: {cut_video} is truncated: its header declares 90 frames "
        f"but only {decoded} could be decoded."
    ]
    assert f"wrote {out}: {decoded} frames" in done.stderr
    assert probe_video(out).frame_count == decoded
    assert digests(testdata / SOURCE, cut_video) == before


@pytest.mark.slow
def test_truncated_video_fails_with_strict(testdata: Path, tmp_path: Path, cut_video: Path) -> None:
    before = digests(testdata / SOURCE, cut_video)
    out = tmp_path / "out.mp4"
    done = run("swap", testdata / SOURCE, cut_video, "-o", out, "-q", "--strict")
    assert done.returncode == 2, done.stderr
    [message] = errors(done.stderr)
    assert message.startswith(f"error: Cannot read {cut_video} is truncated: its header declares 90 frames")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4"]
    assert digests(testdata / SOURCE, cut_video) == before


# ----- a video of huge frames


_PROBE_GROWTH = """
import resource, sys
from faceforge.errors import InputError
from faceforge.media.probe import probe_video
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    probe_video(sys.argv[1])
    print("accepted", 0)
except InputError:
    print("refused", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


@pytest.fixture(scope="module")
def huge_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three black 10000x10000 frames: a file of about 300 KB that would decode to 300 MB a frame."""
    path = tmp_path_factory.mktemp("huge") / "huge.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 10_000
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        frame = av.VideoFrame.from_ndarray(np.zeros((10_000, 10_000, 3), np.uint8), format="rgb24")
        for pts in range(3):
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.slow
def test_huge_video_frames_are_refused_before_decoding(
    testdata: Path, tmp_path: Path, huge_video: Path
) -> None:
    before = digests(testdata / SOURCE, huge_video)
    out = tmp_path / "out.mp4"
    done = run("swap", testdata / SOURCE, huge_video, "-o", out, "-q")
    assert done.returncode == 2, done.stderr
    assert errors(done.stderr) == [
        f"error: Cannot read {huge_video}: its 10000x10000 frames are over the limit of 80,000,000 pixels."
    ]
    assert list(tmp_path.iterdir()) == []
    # In a fresh process (freed memory of this one would hide the growth): FFmpeg's stream-info probe
    # used to decode one frame at full size, 234 MB of growth; its decoder now gets the pixel limit too
    # (36 MB measured), where a swap of this clip once reached 3.1 GB.
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE_GROWTH, str(huge_video)], capture_output=True, text=True, timeout=120
    )
    assert probe.returncode == 0, probe.stderr
    refused, growth_mb = probe.stdout.split()
    assert refused == "refused" and float(growth_mb) < 80
    assert digests(testdata / SOURCE, huge_video) == before


# ----- stale temporaries and `faceforge clean`


@pytest.mark.slow
def test_a_later_run_removes_stale_temporaries_only(testdata: Path, tmp_path: Path) -> None:
    dead = tmp_path / f"{TEMP_PREFIX}{dead_pid()}-0123456789ab-out.png"
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-0123456789ab-out.png"  # this test process: alive
    for path in (dead, live):
        path.write_bytes(b"partial")
    before = digests(testdata / SOURCE, testdata / TARGET)
    done = run("swap", testdata / SOURCE, testdata / TARGET, "-o", tmp_path / "out.png", "-q")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.png", live.name])
    assert digests(testdata / SOURCE, testdata / TARGET) == before


def test_clean_removes_what_no_live_run_owns(tmp_path: Path) -> None:
    dead = tmp_path / f"{TEMP_PREFIX}{dead_pid()}-0123456789ab-a.mp4"
    legacy = tmp_path / f"{TEMP_PREFIX}0123456789ab-b.png"
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-0123456789ab-c.png"
    nested = tmp_path / "sub" / f"{TEMP_PREFIX}{dead_pid()}-0123456789ab-d.png"
    nested.parent.mkdir()
    keep = tmp_path / "photo.png"
    for path in (dead, legacy, live, nested, keep):
        path.write_bytes(b"x")
    done = run("clean", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert sorted(report["removed"]) == sorted([str(dead), str(legacy)])
    assert report["kept"] == [{"path": str(live), "owner_pid": os.getpid()}]
    assert nested.exists()  # not recursive by default
    done = run("clean", tmp_path, "--recursive")
    assert done.returncode == 0, done.stderr
    assert f"removed {nested}" in done.stdout and "removed 1 temporary file(s), kept 1." in done.stdout
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted([live.name, "photo.png", "sub"])
    assert keep.read_bytes() == b"x"


_HOLD_LOCK = """
import sys
from pathlib import Path
from faceforge.outputs import OutputLock
with OutputLock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_clean_removes_output_locks_of_killed_runs_only(tmp_path: Path) -> None:
    from faceforge.outputs import lock_path

    killed = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path / "a.mp4")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    running = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path / "b.mp4")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert killed.stdout.readline().strip() == "held" and running.stdout.readline().strip() == "held"
        killed.kill()
        killed.wait(timeout=60)
        assert lock_path(tmp_path / "a.mp4").exists()  # SIGKILL left the file behind
        done = run("clean", tmp_path, "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["removed"] == [str(lock_path(tmp_path / "a.mp4"))]
        assert report["kept"] == [{"path": str(lock_path(tmp_path / "b.mp4")), "owner_pid": running.pid}]
        assert not lock_path(tmp_path / "a.mp4").exists() and lock_path(tmp_path / "b.mp4").exists()
    finally:
        running.communicate("\n", timeout=60)
    assert not lock_path(tmp_path / "b.mp4").exists()


def test_clean_of_a_missing_folder_is_one_sentence(tmp_path: Path) -> None:
    done = run("clean", tmp_path / "nowhere")
    assert done.returncode == 2
    assert errors(done.stderr) == [f"error: Cannot clean {tmp_path / 'nowhere'}: it is not a folder."]


# ----- long names


@pytest.mark.slow
def test_a_249_character_output_name_is_written(testdata: Path, tmp_path: Path) -> None:
    out = tmp_path / ("n" * 245 + ".png")
    before = digests(testdata / SOURCE, testdata / TARGET)
    done = run("swap", testdata / SOURCE, testdata / TARGET, "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == [out.name] and out.stat().st_size > 10_000
    assert digests(testdata / SOURCE, testdata / TARGET) == before


# ----- signals while the output is being put in place


def _paused_swap(testdata: Path, tmp_path: Path, where: str) -> tuple[subprocess.Popen[str], Path, Path]:
    """A swap that stops just before renaming its output (``before``) or just past the point of no
    return (``inside``), with the marker file it waits on; the test decides what happens next."""
    marker = tmp_path / "paused"
    out = tmp_path / "out" / "swap.png"
    out.parent.mkdir()
    proc = subprocess.Popen(
        [str(FACEFORGE), "swap", str(testdata / SOURCE), str(testdata / TARGET), "-o", str(out), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, PAUSE_ENV: f"{where}:{marker}"},
    )
    deadline = time.monotonic() + 240  # a guard against a hang, not a timing assumption
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the swap never reached its rename"
        time.sleep(0.05)
    return proc, marker, out


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_before_the_rename_leaves_nothing(
    testdata: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    before = digests(testdata / SOURCE, testdata / TARGET)
    proc, _, out = _paused_swap(testdata, tmp_path, "before")
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and ("interrupted." in stderr or "terminated." in stderr)
    assert list(out.parent.iterdir()) == []  # neither the output nor its temporary
    assert digests(testdata / SOURCE, testdata / TARGET) == before


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_rename_completes_the_output(
    testdata: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    before = digests(testdata / SOURCE, testdata / TARGET)
    proc, marker, out = _paused_swap(testdata, tmp_path, "inside")
    proc.send_signal(sig)  # held: the process is past the point of no return
    marker.unlink()  # let it go on to the rename
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert [p.name for p in out.parent.iterdir()] == ["swap.png"]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert digests(testdata / SOURCE, testdata / TARGET) == before
