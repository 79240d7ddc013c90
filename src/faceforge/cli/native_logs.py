"""Keeps MediaPipe/TFLite start-up chatter off the terminal.

Those libraries log from C++ straight to file descriptor 2 ("Created TensorFlow Lite XNNPACK
delegate", "Feedback manager requires a model ..."), bypassing Python, and no environment variable of
this build silences them. The command therefore points descriptor 2 at a pipe whose reader drops the
known noise and forwards every other line; Python's own ``sys.stderr`` keeps writing to the terminal.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

NOISE = re.compile(
    rb"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl::InitializeLog"
    rb"|[IW]\d{4} [\d:. ]+\d+ (inference_feedback_manager|landmark_projection_calculator|gl_context)\.cc)"
)


def filter_native_stderr() -> None:
    """Install the filter for the rest of the process (idempotent per process is not needed: call once)."""
    try:
        terminal = os.dup(2)
        read_end, write_end = os.pipe()
    except OSError:
        return  # no usable descriptor 2: nothing to filter
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = open(terminal, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115

    def forward() -> None:
        with open(read_end, "rb", closefd=True) as pipe:
            for line in pipe:
                if not NOISE.match(line):
                    os.write(terminal, line)

    reader = threading.Thread(target=forward, name="faceforge-native-stderr", daemon=True)
    reader.start()

    def restore() -> None:
        os.dup2(terminal, 2)  # closes the pipe's last writer, so the reader drains and ends
        reader.join(timeout=2.0)

    atexit.register(restore)
