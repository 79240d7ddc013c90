"""The ``faceforge`` command end to end, on real media: successful runs, and every kind of bad input
failing with one sentence on stderr, the documented exit code and nothing left behind.

The command is run as a subprocess through its console script (``faceforge.cli`` has no ``__main__``).
``COLUMNS`` is set wide so Rich does not wrap the message (it wraps at 80 columns when stderr is not a
terminal). MediaPipe/TFLite write their own log lines to stderr; those are not faceforge's output and
are filtered out before the message is checked.
"""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from faceforge.media.atomic import PAUSE_ENV
from faceforge.media.images import read_image
from faceforge.media.provenance import read_tag
from faceforge.media.video import probe_video
from faceforge.outputs import LOCK_PREFIX

FACEFORGE = Path(sys.executable).parent / "faceforge"
TEMP_PREFIX = ".faceforge-tmp-"
# Log lines of MediaPipe / TFLite / absl (glog format "W0000 00:00:..." and Python-logging style).
_FOREIGN_LOG = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:|INFO: |WARNING: All log messages)")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[str]:
        """faceforge's own stderr lines."""
        return [line for line in self.stderr.splitlines() if line.strip() and not _FOREIGN_LOG.match(line)]


def faceforge(*args: object, timeout: float = 120) -> Run:
    env = {**os.environ, "COLUMNS": "400"}
    proc = subprocess.run(
        [str(FACEFORGE), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def temp_files(folder: Path) -> list[str]:
    return (
        sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)) if folder.is_dir() else []
    )


def assert_clean_failure(run: Run, code: int, output: Path) -> str:
    """One sentence after ``error:``, the exit code, no traceback, no output and no temporary file."""
    assert "Traceback" not in run.stderr + run.stdout
    assert run.code == code, run.stderr
    assert len(run.messages) == 1, run.messages
    message = run.messages[0]
    assert message.startswith("error: ") and message.endswith("."), message
    body = message.removeprefix("error: ")
    # One sentence: no sentence end before the last character (dots inside paths are followed by text).
    assert not re.search(r"[.!?]\s", body), message
    assert "internal error" not in message
    assert not output.exists()
    assert temp_files(output.parent) == []
    return message


# ----- inputs made in tmp


def grey_png(path: Path, size: tuple[int, int] = (320, 240)) -> Path:
    Image.new("RGB", size, (128, 128, 128)).save(path)
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` pixels; the data is a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def grey_video(path: Path, frames: int = 12) -> Path:
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(frames):
            image = np.full((240, 320, 3), 100 + i, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path


# ----- version and help


def test_version() -> None:
    run = faceforge("--version")
    assert run.code == 0 and re.fullmatch(r"faceforge \d+\.\d+\.\d+\s*", run.stdout)


def test_swap_help() -> None:
    run = faceforge("swap", "--help")
    assert run.code == 0
    for option in ("--output", "--all-faces", "--face-index", "--reference", "--map", "--watermark"):
        assert option in run.stdout


# ----- successful runs


@pytest.mark.slow
def test_image_swap(testdata: Path, tmp_path: Path) -> None:
    output = tmp_path / "swapped.jpg"
    run = faceforge(
        "swap", testdata / "face_frontal_a.jpg", testdata / "face_frontal_b.jpg", "-o", output, "-q"
    )
    assert run.code == 0, run.stderr
    assert "1 face(s) swapped" in run.stderr
    assert read_image(output).shape == read_image(testdata / "face_frontal_b.jpg").shape
    assert read_tag(output)["synthetic"] is True
    assert temp_files(tmp_path) == []


@pytest.mark.slow
def test_face_index_swaps_only_that_face(testdata: Path, tmp_path: Path) -> None:
    output = tmp_path / "group.png"
    target = testdata / "group_3faces.jpg"
    run = faceforge("swap", testdata / "face_frontal_a.jpg", target, "-o", output, "--face-index", "0", "-q")
    assert run.code == 0, run.stderr
    changed = np.any(read_image(output) != read_image(target), axis=2)
    columns = changed.any(axis=0).nonzero()[0]
    # The leftmost face spans x 499-675; the others start at x 914.
    assert columns.min() > 400 and columns.max() < 800


@pytest.mark.slow
def test_map_swaps_two_people_into_their_reference_people(testdata: Path, tmp_path: Path) -> None:
    """Main source -> the man in glasses (--reference), second source -> the woman (--map); the man on the
    left is left alone. Face boxes in group_3faces.jpg (x): 499-675, 914-1055, 1423-1597."""
    target = testdata / "group_3faces.jpg"
    group = read_image(target)
    woman = tmp_path / "woman.png"
    Image.fromarray(group[306:583, 858:1111]).save(woman)  # her face with a margin
    output = tmp_path / "two.png"
    run = faceforge(
        "swap", testdata / FRONTAL_A, target, "-o", output, "--reference", testdata / "face_glasses_e.png",
        "--map", f"{testdata / FRONTAL_B}={woman}", "-q",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert "2 face(s) swapped" in run.stderr
    changed = np.any(read_image(output) != group, axis=2)
    columns = changed.any(axis=0)
    assert not columns[:800].any()
    assert columns[914:1055].any() and columns[1423:1597].any()


@pytest.fixture(scope="module")
def photo_folder(testdata: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    (folder / "a.jpg").write_bytes((testdata / "face_frontal_b.jpg").read_bytes())
    (folder / "b.png").write_bytes((testdata / "face_lowkey_c.jpg").read_bytes())  # a JPEG named .png
    grey_png(folder / "c_noface.png")
    (folder / "d_corrupt.jpg").write_bytes(np.random.default_rng(0).bytes(5000))
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.mark.slow
def test_folder_swap_reports_failures_and_resumes(testdata: Path, photo_folder: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    run = faceforge("swap", testdata / "face_frontal_a.jpg", photo_folder, "-o", output, "-q")
    assert run.code == 9, run.stderr  # some images failed: the documented partial-failure code
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in output.iterdir()) == ["a.jpg", "b.png"]
    for name in ("a.jpg", "b.png"):
        assert read_tag(output / name)["synthetic"] is True
    text = " ".join(run.messages)
    assert "wrote 2 images" in text and "2 failed" in text
    assert f"error: 2 of 4 images of {photo_folder} failed." in run.messages[-1:]
    assert "not swapped (a folder run swaps its images only): notes.txt" in run.messages
    failures = [line for line in run.messages if line.strip().startswith(("c_noface.png:", "d_corrupt.jpg:"))]
    assert len(failures) == 2, run.messages

    before = {name: (output / name).stat().st_mtime_ns for name in ("a.jpg", "b.png")}
    resumed = faceforge(
        "swap", testdata / "face_frontal_a.jpg", photo_folder, "-o", output, "--skip-existing", "-q"
    )
    assert resumed.code == 9, resumed.stderr  # the two bad images fail again
    assert "wrote 0 images" in resumed.stderr and "2 already there" in resumed.stderr
    assert {name: (output / name).stat().st_mtime_ns for name in before} == before
    assert temp_files(output) == []


@pytest.mark.slow
def test_video_swap(testdata: Path, tmp_path: Path) -> None:
    output = tmp_path / "swapped.mp4"
    run = faceforge(
        "swap", testdata / "face_frontal_b.jpg", testdata / "talking_audio_3s.mp4", "-o", output, "-q"
    )
    assert run.code == 0, run.stderr
    assert "90 frames" in run.stderr
    info = probe_video(output)
    assert info.frame_count == 90 and info.has_audio and info.audio_codec == "aac"
    assert read_tag(output)["synthetic"] is True
    assert temp_files(tmp_path) == []


# ----- bad input: one sentence, the documented code, nothing written

FRONTAL_A = "face_frontal_a.jpg"
FRONTAL_B = "face_frontal_b.jpg"


def _bad_case(name: str, testdata: Path, tmp: Path) -> tuple[list[object], Path, int, str]:
    """(arguments after ``swap``, the output path, expected exit code, a word the message must hold)."""
    out_dir = tmp / "out"
    out_dir.mkdir()
    a, b, clip = testdata / FRONTAL_A, testdata / FRONTAL_B, testdata / "short_noaudio_small.mp4"
    png, mp4 = out_dir / "out.png", out_dir / "out.mp4"
    if name == "missing source":
        return [tmp / "nobody.jpg", b, "-o", png], png, 2, "does not exist"
    if name == "missing target":
        return [a, tmp / "nothing.jpg", "-o", png], png, 2, "does not exist"
    if name == "corrupt source":
        corrupt = tmp / "corrupt.jpg"
        corrupt.write_bytes(np.random.default_rng(1).bytes(20_000))
        return [corrupt, b, "-o", png], png, 2, "not a readable image"
    if name == "source without face":
        return [grey_png(tmp / "grey.png"), b, "-o", png], png, 4, "No face"
    if name == "target image without face":
        return [a, grey_png(tmp / "grey.png"), "-o", png], png, 4, "No face"
    if name == "target video without face":
        return [a, grey_video(tmp / "grey.mp4"), "-o", mp4], mp4, 4, "No face"
    if name == "unsupported target suffix":
        notes = tmp / "notes.txt"
        notes.write_text("hello")
        return [a, notes, "-o", png], png, 3, "neither an image"
    if name == "video output for image target":
        return [a, b, "-o", mp4], mp4, 3, "must be an image"
    if name == "image output for video target":
        return [a, clip, "-o", png], png, 3, "must be a video"
    if name == "output folder missing":
        return (
            [a, b, "-o", out_dir / "no" / "such" / "out.png"],
            out_dir / "no" / "such" / "out.png",
            5,
            "does not exist",
        )
    if name == "output under a file":
        blocker = out_dir / "file.txt"
        blocker.write_text("x")
        return [a, b, "-o", blocker / "out.png"], blocker / "out.png", 5, "Cannot write"
    if name == "output in /proc":
        return [a, b, "-o", "/proc/nope/out.png"], Path("/proc/nope/out.png"), 5, "Cannot write"
    if name == "video output folder missing":
        return [a, clip, "-o", out_dir / "no" / "out.mp4"], out_dir / "no" / "out.mp4", 5, "does not exist"
    if name == "truncated video":
        truncated = tmp / "truncated.mp4"
        truncated.write_bytes(clip.read_bytes()[:2048])
        return [a, truncated, "-o", mp4], mp4, 2, "Cannot"
    if name == "huge image target":  # Pillow's own decompression-bomb error fires first
        return [a, png_claiming(tmp / "huge.png", 100_000, 100_000), "-o", png], png, 2, "too large"
    if name == "huge image source":
        return [png_claiming(tmp / "huge.png", 100_000, 100_000), b, "-o", png], png, 2, "too large"
    if name == "image over the pixel limit":  # 90 Mpx: over faceforge's 80 Mpx, under Pillow's error
        return [a, png_claiming(tmp / "big.png", 10_000, 9_000), "-o", png], png, 2, "over the limit"
    if name == "conflicting selection":
        return [a, b, "-o", png, "--all-faces", "--face-index", "0"], png, 2, "only one of"
    if name == "map without reference":
        return [a, b, "-o", png, "--map", f"{b}={a}"], png, 2, "--reference"
    if name == "malformed map":
        return (
            [a, b, "-o", png, "--reference", a, "--map", "just-a-name"],
            png,
            2,
            "SOURCE_PHOTO=REFERENCE_PHOTO",
        )
    if name == "face index out of range":
        return [a, b, "-o", png, "--face-index", "5"], png, 2, "asks for face number 6"
    if name == "crf out of range":
        return [a, b, "-o", png, "--crf", "999"], png, 2, "crf must be at most 63"
    if name == "detect-every zero":
        return [a, b, "-o", png, "--detect-every", "0"], png, 2, "detect_every must be at least 1"
    raise AssertionError(name)


BAD_CASES = [
    "missing source",
    "missing target",
    "corrupt source",
    "source without face",
    "target image without face",
    "target video without face",
    "unsupported target suffix",
    "video output for image target",
    "image output for video target",
    "output folder missing",
    "output under a file",
    "output in /proc",
    "video output folder missing",
    "truncated video",
    "huge image target",
    "huge image source",
    "image over the pixel limit",
    "conflicting selection",
    "map without reference",
    "malformed map",
    "face index out of range",
    "crf out of range",
    "detect-every zero",
]


@pytest.mark.slow
@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_fails_cleanly(case: str, testdata: Path, tmp_path: Path) -> None:
    args, output, code, words = _bad_case(case, testdata, tmp_path)
    run = faceforge("swap", *args, "-q")
    message = assert_clean_failure(run, code, output)
    assert words in message, message
    assert temp_files(tmp_path / "out") == []
    assert temp_files(tmp_path) == []


def test_unknown_option_value_is_a_usage_error(testdata: Path, tmp_path: Path) -> None:
    """Choices are checked by the command-line parser: its usage message, exit 2, nothing written."""
    output = tmp_path / "out.png"
    run = faceforge("swap", testdata / FRONTAL_A, testdata / FRONTAL_B, "-o", output, "--mask", "nonsense")
    assert run.code == 2
    assert "Traceback" not in run.stderr and "'nonsense'" in run.stderr
    assert not output.exists() and temp_files(tmp_path) == []


# ----- a video job stopped from outside


def _start_and_stop(testdata: Path, folder: Path, sig: signal.Signals) -> tuple[int, str, Path]:
    """Start a swap of the 1080p clip and send ``sig`` once it has encoded every frame into its temporary
    file and waits, through the test hook, just before the rename: an observable state, so the signal
    can never race a swap that finished first on a loaded machine."""
    output = folder / "swapped.mp4"
    marker = folder / "paused"
    env = {**os.environ, "COLUMNS": "400", PAUSE_ENV: f"before:{marker}"}
    args = [FACEFORGE, "swap", testdata / FRONTAL_A, testdata / "short_1080p_1s.mp4", "-o", output, "-q"]
    proc = subprocess.Popen(
        [str(a) for a in args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, not a timing assumption
        while not marker.exists():
            assert proc.poll() is None, "the job ended before it reached its rename"
            assert time.monotonic() < deadline, "the swap never reached its rename"
            time.sleep(0.05)
        assert temp_files(folder), "the encoder never wrote its temporary file"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    marker.unlink(missing_ok=True)
    return proc.returncode, stderr, output


@pytest.mark.slow
def test_sigint_leaves_nothing(testdata: Path, tmp_path: Path) -> None:
    code, stderr, output = _start_and_stop(testdata, tmp_path, signal.SIGINT)
    assert code == 130
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert not output.exists()
    assert temp_files(tmp_path) == []


@pytest.mark.slow
def test_sigterm_leaves_nothing(testdata: Path, tmp_path: Path) -> None:
    code, stderr, output = _start_and_stop(testdata, tmp_path, signal.SIGTERM)
    assert not output.exists()
    assert temp_files(tmp_path) == []
    assert code == 143
    assert "Traceback" not in stderr and "terminated" in stderr


@pytest.mark.slow
def test_sigkill_never_leaves_a_file_under_the_final_name(testdata: Path, tmp_path: Path) -> None:
    """No cleanup can run after SIGKILL; the honest guarantee is that nothing that looks complete is
    left: at most a hidden ``.faceforge-tmp-*`` file. A second run then produces the whole video."""
    code, _, output = _start_and_stop(testdata, tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not output.exists()
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    # a temporary, and the output's advisory lock file (its flock died with the process)
    assert all(name.startswith((TEMP_PREFIX, LOCK_PREFIX)) for name in leftovers), leftovers

    again = faceforge("swap", testdata / FRONTAL_A, testdata / "short_1080p_1s.mp4", "-o", output, "-q")
    assert again.code == 0, again.stderr
    assert probe_video(output).frame_count == 24


# ----- output rules (faceforge.outputs): never over an input, an existing output kept without -y


@pytest.mark.slow
def test_swap_output_rules(testdata: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.jpg"
    target.write_bytes((testdata / FRONTAL_B).read_bytes())
    before = target.read_bytes()
    into_input = faceforge("swap", testdata / FRONTAL_A, target, "-o", target, "-q", "-y")
    assert into_input.code == 5 and f"The output {target} is the input {target}" in into_input.stderr
    assert target.read_bytes() == before
    output = tmp_path / "out.png"
    output.write_bytes(b"an earlier result")
    kept = faceforge("swap", testdata / FRONTAL_A, target, "-o", output, "-q")
    assert kept.code == 5 and "already exists and was kept; pass --overwrite (-y)" in kept.stderr
    assert output.read_bytes() == b"an earlier result"
    replaced = faceforge("swap", testdata / FRONTAL_A, target, "-o", output, "-q", "-y")
    assert replaced.code == 0, replaced.stderr
    assert read_tag(output)["synthetic"] is True
    assert temp_files(tmp_path) == []
