"""Write outputs under a temporary name and rename them into place only when complete.

A reader (or a person) never sees a half-written file or folder under the final name: the data goes to
a hidden sibling ``.faceforge-tmp-<pid>-<random>-<name>`` in the same folder (same file system, so the
final ``os.replace`` is atomic) that keeps the suffix, so encoders pick the format from it.

- **Bounded names.** The temporary name is cut to fit the file system's 255-byte limit (the stem is
  shortened, the suffix kept), so any legal final name can be written.
- **Stale temporaries.** The owner's process id is in the name. Creating an output removes the
  temporaries beside it whose owner is no longer running (a run killed with SIGKILL); ``faceforge clean``
  also removes those written before names carried a pid. A temporary whose owner is alive is never touched.
- **Signals at the very end.** The rename is the point of no return: a SIGINT or SIGTERM before it
  discards the temporary (nothing under the final name); one that arrives while the rename is being
  made is held until the output is in place and then dropped, so the run completes.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from faceforge.errors import OutputError

TEMP_PREFIX = ".faceforge-tmp-"
OLD_PREFIX = ".faceforge-old-"  # a replaced report folder, deleted once the new one is in place
NAME_MAX = 255  # bytes in one path component on Linux, macOS and Windows file systems
_SUFFIX_MAX = 16  # longer "suffixes" are part of the stem (``a.very-long-sentence``), not a format
_OWNED = re.compile(r"^\.faceforge-(?:tmp|old)-(\d+)-[0-9a-f]{12}-")
_LEGACY = re.compile(r"^\.faceforge-(?:tmp|old)-[0-9a-f]{12}-")  # names before the owner's pid was in them

#: Tests only: a file the process creates, then waits for it to be deleted, just before the rename
#: (``before:PATH``: signals act as usual), just after the point of no return (``inside:PATH``),
#: after a faceset extraction committed a chunk (``after-chunk:PATH``), after LoRA training saved a
#: checkpoint (``after-checkpoint:PATH``), or as a batch worker starts each
#: task (``task-start:PATH``; the driver hands a worker its next task only once the last is recorded).
PAUSE_ENV = "FACEFORGE_TEST_PAUSE_COMMIT"


def temp_name(name: str, prefix: str = TEMP_PREFIX) -> str:
    """A hidden, unique, owner-stamped sibling name for ``name`` that fits in :data:`NAME_MAX` bytes."""
    head = f"{prefix}{os.getpid()}-{secrets.token_hex(6)}-"
    suffix = Path(name).suffix
    if len(suffix.encode()) > _SUFFIX_MAX:
        suffix = ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    room = NAME_MAX - len(head.encode()) - len(suffix.encode())
    stem = stem.encode()[:room].decode(errors="ignore")  # never split a multi-byte character
    return head + stem + suffix


def temp_owner(name: str) -> int | None:
    """The process id in a temporary's name; None for a name that is not an owner-stamped temporary."""
    match = _OWNED.match(name)
    return int(match.group(1)) if match else None


def temp_target(name: str) -> str | None:
    """The output name a temporary was made for (its stem possibly cut to fit); None for other names."""
    match = _OWNED.match(name) or _LEGACY.match(name)
    return name[match.end() :] if match else None


def is_temporary(name: str) -> bool:
    """True for the names faceforge gives its temporaries, with or without the owner's pid."""
    return bool(_OWNED.match(name) or _LEGACY.match(name))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


@dataclass(frozen=True, slots=True)
class Temporary:
    """A temporary file or folder found beside outputs, and whether a running process owns it."""

    path: Path
    owner: int | None  # None: the name carries no owner (written by an older faceforge)
    alive: bool  # the owner is running; such a temporary is never removed


def find_temporaries(folder: Path) -> list[Temporary]:
    """The faceforge temporaries directly in ``folder``, sorted by name; none when it cannot be listed."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith((TEMP_PREFIX, OLD_PREFIX)) or not is_temporary(entry.name):
            continue
        owner = temp_owner(entry.name)
        found.append(Temporary(Path(entry.path), owner, owner is not None and _alive(owner)))
    return found


def stale_temporaries(folder: Path, include_unowned: bool = False) -> list[Path]:
    """The temporaries in ``folder`` whose owner has exited; with ``include_unowned``, also those whose
    names carry no owner (written by an older faceforge). Never one whose owner is alive."""
    return [
        t.path for t in find_temporaries(folder) if not t.alive and (t.owner is not None or include_unowned)
    ]


def remove_temporaries(paths: list[Path]) -> list[Path]:
    """Delete each temporary file or folder; the ones actually removed (another run may race us)."""
    removed = []
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            continue  # left for `faceforge clean`, which reports what it cannot remove
        removed.append(path)
    return removed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1  # gone meanwhile


def _check_folder(path: Path) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"Cannot write {path}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write {path}: the folder {folder} is not writable.")
    return folder


def pause_for_test(where: str) -> None:
    """The test hook of :data:`PAUSE_ENV`: create the marker file and wait until the test deletes it."""
    setting = os.environ.get(PAUSE_ENV, "")
    position, _, marker = setting.partition(":")
    if position != where or not marker:
        return
    Path(marker).touch()
    while Path(marker).exists():
        time.sleep(0.01)


@contextmanager
def _past_the_point_of_no_return() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (main thread only: Python runs handlers there) while the rename is made;
    a signal that arrives meanwhile is dropped, because the output it would abort is already complete."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    previous: dict[int, Any] = {
        signum: signal.signal(signum, hold) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _replace_into_place(temp: Path, path: Path) -> None:
    """The final rename, with the test hooks either side of the point of no return."""
    pause_for_test("before")
    with _past_the_point_of_no_return():
        pause_for_test("inside")
        os.replace(temp, path)


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's data to disk; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders; the data is as safe as they make it
    finally:
        os.close(fd)


class AtomicOutput:
    """A temporary sibling of ``path`` that is either committed (renamed over ``path``) or discarded.

    Use :func:`atomic_output` where a ``with`` block fits; this class is for writers whose lifetime
    spans several calls (a video writer opened in one place and closed in another). Creating one
    removes the stale temporaries of killed runs from the folder. ``durable`` flushes the file to disk
    before the rename and the folder after it, so that a power cut cannot leave the new name pointing at
    missing data (checkpoints need this; a swap output can be made again).

    ``resume`` (a download that can continue where an earlier attempt stopped): the largest temporary an
    earlier run left for this same output (its owner has exited, or is this process) becomes this one's
    temporary, and the other leftovers of this output are deleted. The caller must hold the output's
    lock (outputs.OutputLock), so that no other run is writing any of them.
    """

    def __init__(self, path: Path, durable: bool = False, resume: bool = False) -> None:
        path = Path(path)
        folder = _check_folder(path)
        if path.is_dir():
            raise OutputError(f"Cannot write {path}: a folder with that name exists.")
        self.path = path
        self.durable = durable
        # The file is not created here: the encoder creates it, so it gets the usual permissions (umask).
        self.temp_path = folder / temp_name(path.name)
        self.done = False
        if resume:
            self._take_over_leftovers(folder)
        remove_temporaries(stale_temporaries(folder))

    def _take_over_leftovers(self, folder: Path) -> None:
        leftovers = [
            t.path
            for t in find_temporaries(folder)
            if temp_target(t.path.name) == self.path.name
            and (not t.alive or t.owner == os.getpid())
            and t.path.is_file()
        ]
        leftovers.sort(key=_size, reverse=True)
        for leftover in leftovers:
            try:
                os.replace(leftover, self.temp_path)
            except FileNotFoundError:
                continue  # `faceforge clean` removed it meanwhile: take the next
            remove_temporaries([other for other in leftovers if other != leftover])
            return

    def commit(self) -> None:
        """Rename the temporary file over the final path."""
        if self.done:
            return
        self.done = True
        try:
            if self.durable:
                with open(self.temp_path, "rb+") as handle:
                    os.fsync(handle.fileno())
            _replace_into_place(self.temp_path, self.path)
        except BaseException as exc:
            self.temp_path.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise OutputError(f"Cannot write {self.path}: {exc.strerror or exc}.") from exc
            raise
        if self.durable:
            fsync_path(self.path.parent)

    def discard(self) -> None:
        """Delete the temporary file, if any; the final path is left untouched."""
        self.done = True
        self.temp_path.unlink(missing_ok=True)


@contextmanager
def atomic_output(path: Path, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` if the block succeeds.

    On any exception (including ``KeyboardInterrupt``) the temporary file is deleted and the exception
    re-raised, so no partial output ever appears under ``path``. ``durable``: see :class:`AtomicOutput`.
    """
    out = AtomicOutput(path, durable)
    try:
        yield out.temp_path
    except BaseException:
        out.discard()
        raise
    out.commit()


@contextmanager
def atomic_folder(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """A hidden temporary folder beside ``path``, renamed to ``path`` when the block succeeds and
    deleted when it fails or is interrupted, so the folder is either complete or absent. With
    ``overwrite`` an existing folder is replaced (moved aside, then deleted once the new one is in place)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.exists() and not overwrite:
        raise OutputError(f"The folder {path} already exists; use --overwrite to replace it.")
    if path.exists() and not path.is_dir():
        raise OutputError(f"Cannot write the folder {path}: a file with that name exists.")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _check_folder(path)
        remove_temporaries(stale_temporaries(parent))
        temp = parent / temp_name(path.name)
        temp.mkdir()
    except OSError as exc:
        raise OutputError(f"Cannot write the folder {path}: {exc.strerror or exc}.") from exc
    try:
        yield temp
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    old = parent / temp_name(path.name, OLD_PREFIX) if path.exists() else None
    try:
        if old is not None:
            os.replace(path, old)
        _replace_into_place(temp, path)
    except BaseException as exc:
        if old is not None and not path.exists():
            os.replace(old, path)  # put the previous folder back: nothing is lost
            old = None
        shutil.rmtree(temp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(f"Cannot write the folder {path}: {exc.strerror or exc}.") from exc
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
