"""One writer at a time: an advisory lock on a faceset, released by the kernel when its holder dies.

The lock is ``fcntl.flock`` on ``FACESET/.faceforge-lock``. The file also says who holds it (pid, host,
command, since when), so a second writer can tell the user what is in the way. The file is never deleted
(deleting a lock file races with a process about to lock it); a lock left by a killed process is free,
because ``flock`` belongs to the open file, which dies with its process.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from faceforge.errors import OutputError

LOCK_NAME = ".faceforge-lock"
_HOLDER_LIMIT = 4096  # bytes of holder description read back; the file is ours, but it is not trusted


def _holder_text(path: Path) -> str:
    """Who holds the lock, as the holder wrote it; a short fallback when the file says nothing usable."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(_HOLDER_LIMIT).decode("utf-8"))
        return (
            f"pid {int(data['pid'])} on {str(data['host'])[:64]}, running `{str(data['command'])[:200]}` "
            f"since {str(data['since'])[:40]}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that did not say who it is"


class WriterLock:
    """The exclusive lock on a folder's lock file, taken without waiting: if another process holds it,
    :meth:`acquire` raises OutputError naming that process. ``what`` names the folder in the sentence,
    e.g. ``"The faceset /data/set"``."""

    def __init__(self, folder: Path, what: str) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"Cannot lock {self.path}: {exc.strerror or exc}.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"{self.what} is being changed by another faceforge process ({_holder_text(self.path)}); "
                "wait for it to finish, or stop it, and run this command again."
            ) from None
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"Cannot lock {self.path}: {exc.strerror or exc}.") from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python",
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
