"""Keeps MediaPipe/TFLite start-up chatter off the terminal.

Those libraries log from C++ straight to file descriptor 2 ("Created TensorFlow Lite XNNPACK
delegate", "Feedback manager requires a model ..."), from their own threads and at any time after a
graph is made, bypassing Python; no environment variable of this build (``GLOG_minloglevel``,
``TF_CPP_MIN_LOG_LEVEL``) silences them. :func:`filter_native_stderr` therefore points descriptor 2 at a
pipe whose reader drops the known noise and forwards every other line, so real errors still show;
Python's own ``sys.stderr`` keeps writing to the terminal.

The command installs it at start; the library (:func:`quiet_native_logs`, called when a MediaPipe
component is made) installs it when descriptor 2 is a terminal, a person reading it, and not when it is a
file or a pipe another program reads (a test runner's capture, a log collector), which get every byte.
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


_READER = "faceforge-native-stderr"


def filter_native_stderr() -> None:
    """Install the filter for the rest of the process; a second call while it runs does nothing."""
    if any(thread.name == _READER for thread in threading.enumerate()):
        return
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

    reader = threading.Thread(target=forward, name=_READER, daemon=True)
    reader.start()

    def restore() -> None:
        os.dup2(terminal, 2)  # closes the pipe's last writer, so the reader drains and ends
        reader.join(timeout=2.0)

    atexit.register(restore)


def quiet_native_logs() -> None:
    """The library's call, before it makes a MediaPipe graph: filter descriptor 2 when a person reads it."""
    try:
        interactive = os.isatty(2)
    except OSError:
        return
    if interactive:
        filter_native_stderr()
