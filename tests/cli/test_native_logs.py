"""MediaPipe's C++ chatter stays off a terminal when faceforge is used from Python, and other lines
written to descriptor 2 still arrive; a pipe (a program reading stderr) gets every byte."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

SCRIPT = """
import os
import numpy as np
from faceforge.analysis.analyser import FaceAnalyser
with FaceAnalyser() as analyser:
    analyser.faces(np.zeros((96, 96, 3), np.uint8))
os.write(2, b"a real error line\\n")
"""
CHATTER = (b"Created TensorFlow Lite", b"inference_feedback_manager", b"absl::InitializeLog")


def _run_on_a_terminal() -> bytes:
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.DEVNULL, stderr=child)
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child side of the terminal is closed (the process has ended)
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert proc.wait(timeout=120) == 0, seen
    return seen


@pytest.mark.slow
def test_the_library_keeps_mediapipe_chatter_off_a_terminal() -> None:
    seen = _run_on_a_terminal()
    assert b"a real error line" in seen
    assert not any(noise in seen for noise in CHATTER), seen


def test_a_pipe_gets_every_line() -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, check=True, timeout=120)
    assert b"a real error line" in run.stderr
    assert any(noise in run.stderr for noise in CHATTER)
