"""kill -9 of a training run leaves no data-loader workers, forkserver or resource tracker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FACEFORGE = Path(sys.executable).parent / "faceforge"
GONE_WITHIN = 120.0  # seconds: a ceiling for a loaded machine, not an expected duration


def _state(pid: int) -> str | None:
    """The process's state letter, None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


@pytest.mark.slow
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="parent-death signals and pidfds are Linux's"
)
def test_sigkill_of_the_trainer_takes_its_workers_down(
    faceset_a: Path, faceset_b: Path, tmp_path: Path
) -> None:
    command = [
        str(FACEFORGE), "train", str(faceset_a), str(faceset_b), "-o", str(tmp_path / "model"),
        "--arch", "original", "--width-scale", "0.125", "-b", "4", "--workers", "2", "-n", "1000000",
        "--preview-every", "0", "--no-tensorboard", "--amp", "off", "--log-every", "1",
        "--save-every", "1000000",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    trainer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        seen = []
        for line in trainer.stdout:  # observable state: iterations are being logged, so workers serve batches
            seen.append(line)
            if "loss A" in line:
                break
        assert any("loss A" in line for line in seen), "".join(seen)
        helpers = _descendants(trainer.pid)
        assert len(helpers) >= 3, helpers  # at least two workers and the forkserver or resource tracker
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait(timeout=60)
    deadline = time.monotonic() + GONE_WITHIN
    alive = helpers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _state(pid) not in (None, "Z")]
        if alive:
            time.sleep(0.1)
    for pid in alive:  # leave no orphans behind even when the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"still running after the trainer's SIGKILL: {alive}"
