"""Starting and stopping the real ``faceforge ui`` command in a subprocess on a free localhost port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 120  # importing gradio and faceforge on a busy 2-core machine
STEP_MS = 90_000  # the longest one browser step may wait on a busy 2-core machine (a video run)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class UiServer:
    url: str
    port: int
    workdir: Path
    process: subprocess.Popen[str]
    lines: list[str]


def _environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


def start_ui(workdir: Path, *args: str) -> UiServer:
    """``faceforge ui`` with ``args``; returns once it prints its address (or fails with its output)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "faceforge", "ui", "--port", str(port), "--workdir", str(workdir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(),
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:  # keeps draining the pipe so the server never blocks on a full one
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if "faceforge UI at " in line:
                ready.set()
        ready.set()  # ended: let the caller see why

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(START_TIMEOUT_S) or process.poll() is not None:
        process.kill()
        pytest.fail("faceforge ui did not start:\n" + "\n".join(lines))
    url = next(line for line in lines if "faceforge UI at " in line).split(" at ", 1)[1].strip()
    return UiServer(url, port, workdir, process, lines)


def stop_ui(server: UiServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def listening_addresses(port: int) -> set[str]:
    """The local IPv4 addresses with a socket listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # 0A: LISTEN
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found
