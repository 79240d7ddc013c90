"""Data-loader workers that die with the trainer, even when it is killed with SIGKILL.

A killed trainer runs no clean-up, and its workers (started from a forkserver, so they are the
forkserver's children, not the trainer's) would go on running, with the forkserver and the resource
tracker, for minutes, about 380 MB each. Each worker therefore

- asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``, Linux), which covers the
  forkserver or a forking trainer dying, and
- watches the trainer itself through a pidfd (Linux 5.3+): a thread blocks until the trainer exits, then
  kills the forkserver that started the worker (if it is still the worker's parent) and the worker. The
  resource tracker exits by itself once every process holding its pipe is gone.

Elsewhere (macOS, Windows) nothing is done: PyTorch's own watchdog there is the only guard.
"""

from __future__ import annotations

import ctypes
import functools
import os
import select
import signal
import sys
import threading
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _watch(trainer_pid: int) -> None:
    """Block until ``trainer_pid`` exits; then take down the forkserver that started this worker and the
    worker itself."""
    starter = os.getppid()
    try:
        pidfd = os.pidfd_open(trainer_pid)
    except ProcessLookupError:
        pidfd = None  # it is already gone
    except OSError:
        return  # no pidfd support: the parent-death signal is all there is
    if pidfd is not None:
        select.select([pidfd], [], [])
    if starter != trainer_pid and os.getppid() == starter:
        os.kill(starter, signal.SIGKILL)  # the forkserver: it serves only the dead trainer
    os.kill(os.getpid(), signal.SIGKILL)


def _init_worker(trainer_pid: int, worker_id: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    _die_with_parent()
    threading.Thread(target=_watch, args=(trainer_pid,), name="faceforge-trainer-watch", daemon=True).start()


def die_with_trainer() -> Callable[[int], None]:
    """A picklable ``worker_init_fn`` for a DataLoader whose workers must not outlive this process."""
    return functools.partial(_init_worker, os.getpid())
