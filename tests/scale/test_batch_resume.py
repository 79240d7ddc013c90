"""A worker process killed in the middle of a job (``faceforge batch swap`` on its own local Ray): the task
it ran is reported, a fresh worker finishes the rest, and a rerun redoes only that task."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from faceforge.media.atomic import PAUSE_ENV
from faceforge.scale.jobs import JOB_NAME, read_tasks
from faceforge.scale.runner import WORKER_LOST


def _paused(marker: Path, process: subprocess.Popen) -> None:
    """Wait until the worker holds at a task's start (it has created ``marker``); the deadline only ends a
    hung run (on a loaded 2-core machine Ray's start and the models' loading take minutes)."""
    deadline = time.monotonic() + 900
    while not marker.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the worker never paused"
        time.sleep(0.01)


def _second_task_started(marker: Path, process: subprocess.Popen) -> str:
    """Let the one worker start its first task, then hold it as it starts its second (the driver hands a
    worker its next task only once the last one is recorded done); the ``host:pid`` of that worker."""
    _paused(marker, process)
    marker.unlink()
    _paused(marker, process)
    with sqlite3.connect(f"file:{marker.parent / 'out' / JOB_NAME}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT worker FROM tasks WHERE state = 'done'").fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def _release_pauses(marker: Path, process: subprocess.Popen) -> threading.Thread:
    """Let every later task start (a fresh worker pauses at each one too) until the driver exits."""

    def release() -> None:
        while process.poll() is None:
            marker.unlink(missing_ok=True)
            time.sleep(0.01)

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def _batch(source: Path, folder: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "faceforge", "batch", "swap", str(source), str(folder), "-o", str(output)]


def _six_image_job(testdata: Path, tmp_path: Path) -> tuple[Path, Path, list[str], dict[str, str]]:
    """A folder of six stills, the output folder, the one-worker batch command and its environment
    (which pauses the worker at each task's start on the marker ``tmp_path / "pause"``)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        name = ("face_frontal_b.jpg", "face_lowkey_c.jpg")[i % 2]
        shutil.copy(testdata / name, folder / f"{i}_{name}")
    output = tmp_path / "out"
    command = [*_batch(testdata / "face_frontal_a.jpg", folder, output), "--workers", "1", "-q"]
    return (
        folder,
        output,
        command,
        {**os.environ, "OMP_NUM_THREADS": "1", PAUSE_ENV: f"task-start:{tmp_path / 'pause'}"},
    )


@pytest.mark.slow
def test_killed_worker_then_rerun_finishes_without_redoing_done_tasks(testdata: Path, tmp_path: Path) -> None:
    folder, output, command, env = _six_image_job(testdata, tmp_path)

    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = _second_task_started(tmp_path / "pause", first)
    os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
    _release_pauses(tmp_path / "pause", first)
    _, stderr = first.communicate(timeout=900)
    assert first.returncode == 9, stderr
    assert "worker process running it stopped" in stderr

    rows = {Path(row.key).name: row for row in read_tasks(output / JOB_NAME)}
    lost = [name for name, row in rows.items() if row.state == "failed"]
    assert len(lost) == 1 and rows[lost[0]].error == WORKER_LOST
    done_first = {name: (output / name).stat() for name, row in rows.items() if row.state == "done"}
    assert len(done_first) == 5  # a fresh worker took the killed one's place and finished the rest
    assert not (output / lost[0]).exists()

    env.pop(PAUSE_ENV)
    second = subprocess.run(command, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "1 done, 5 already done" in second.stderr
    rows = {Path(row.key).name: row for row in read_tasks(output / JOB_NAME)}
    assert all(row.state == "done" for row in rows.values()) and rows[lost[0]].attempts == 2
    setups: dict[str, set[str]] = {}
    for row in rows.values():
        setups.setdefault(row.worker, set()).add(row.detail["setup"])
    assert all(len(loaded) == 1 for loaded in setups.values())  # models loaded once per worker process
    assert max(sum(row.worker == w for row in rows.values()) for w in setups) >= 2  # and reused
    for name, stat in done_first.items():  # not redone: the very same files, untouched
        now = (output / name).stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
        assert rows[name].attempts == 1
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith(".")) == sorted(
        p.name for p in folder.iterdir()
    )


@pytest.mark.slow  # two jobs on their own local Ray: ~40 s each on the loaded 2-core dev machine
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_driver_leaves_a_consistent_record_and_the_rerun_resumes(
    stop: signal.Signals, testdata: Path, tmp_path: Path
) -> None:
    _, output, command, env = _six_image_job(testdata, tmp_path)

    # SIGINT at its default in the driver even when this run inherited it ignored (see c0750db)
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    _second_task_started(tmp_path / "pause", first)  # the first task recorded, the second not begun
    first.send_signal(stop)  # the worker stays paused: the stopping driver kills it before its task runs
    _, stderr = first.communicate(timeout=900)
    assert first.returncode == (130 if stop == signal.SIGINT else 143), stderr
    assert ("interrupted." if stop == signal.SIGINT else "terminated.") in stderr

    rows = {Path(row.key).name: row for row in read_tasks(output / JOB_NAME)}
    done_first = {name: (output / name).stat() for name, row in rows.items() if row.state == "done"}
    assert len(done_first) == 1  # the row marked done names a complete output in place
    assert not [p for p in output.rglob("*") if p.name.startswith(".faceforge-tmp-")]
    assert set(done_first) == {p.name for p in output.glob("*.jpg")}

    env.pop(PAUSE_ENV)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "5 done, 1 already done" in second.stderr
    for name, before in done_first.items():
        after = (output / name).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not redone
