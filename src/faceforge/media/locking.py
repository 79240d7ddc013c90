"""Advisory locks that say who holds them, released by the kernel when their holder dies.

A lock is ``fcntl.flock`` on a small file that also records the holder (pid, host, command, since
when), so a second process can tell the user what is in the way. A lock left by a killed process is
free at once, because ``flock`` belongs to the open file, which dies with its process.

A lock file may be removed when released (``remove_on_release``): the holder unlinks it while still
holding the lock, and an acquirer checks after locking that the path still names the file it locked
(otherwise it locked a file just unlinked by the previous holder, and tries again).
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
from typing import Any, Self

from faceforge.errors import OutputError

_HOLDER_LIMIT = 4096  # bytes of holder description read back; the file is ours, but it is not trusted
_ATTEMPTS = 8  # unlinked-under-us retries; each needs another holder to finish in between


def _holder(path: Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        data = json.loads(handle.read(_HOLDER_LIMIT).decode("utf-8"))
    if not isinstance(data, dict):
        raise TypeError("not a holder record")
    return data


def holder_text(path: Path) -> str:
    """Who holds the lock, as the holder wrote it; a short fallback when the file says nothing usable."""
    try:
        data = _holder(path)
        return (
            f"pid {int(data['pid'])} on {str(data['host'])[:64]}, running `{str(data['command'])[:200]}` "
            f"since {str(data['since'])[:40]}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that did not say who it is"


def holder_pid(path: Path) -> int | None:
    """The pid the lock's holder wrote; None when the file says nothing usable."""
    try:
        return int(_holder(path)["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _holder_record() -> bytes:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python",
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return (json.dumps(holder) + "\n").encode("utf-8")


class AdvisoryLock:
    """The exclusive lock on ``path``, taken without waiting: if another process holds it,
    :meth:`acquire` raises OutputError whose sentence is ``busy`` with ``{holder}`` filled in. With
    ``wait`` it blocks until the holder is done instead (for short critical sections, such as a
    read-modify-write of a small index file)."""

    def __init__(self, path: Path, busy: str, remove_on_release: bool = False, wait: bool = False) -> None:
        self.path = Path(path)
        self.busy = busy
        self.remove_on_release = remove_on_release
        self.wait = wait
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _open_locked(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"Cannot lock {self.path}: {exc.strerror or exc}.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(self.busy.replace("{holder}", holder_text(self.path))) from None
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"Cannot lock {self.path}: {exc.strerror or exc}.") from None
        return fd

    def _still_named(self, fd: int) -> bool:
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)

    def acquire(self) -> Self:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already locked by this object")
        for _ in range(_ATTEMPTS):
            fd = self._open_locked()
            if self._still_named(fd):
                break
            os.close(fd)  # the previous holder removed the file between our open and our lock
        else:
            raise OutputError(self.busy.replace("{holder}", "processes that keep taking and dropping it"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_record(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        if self.remove_on_release:
            self.path.unlink(missing_ok=True)  # still holding the lock: see the module docstring
        os.close(self._fd)  # closing the descriptor drops the flock
        self._fd = None

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
