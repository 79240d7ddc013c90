"""Rules every command that writes follows before it writes.

- :func:`check_output`: an output that resolves (symlinks, relative paths and hard links included) to
  one of the inputs is refused, whatever ``overwrite`` says: writing it would destroy the original. An
  output that already exists is refused unless ``overwrite`` is given (the ``--overwrite``/``-y``
  convention of ffmpeg), and the sentence says it was kept.
- :class:`OutputLock`: an advisory lock beside the output, so that a second run writing the same output
  at the same time is refused with a sentence naming the holder, instead of both reporting success and
  one result silently winning. The lock file is hidden, and removed when the holder releases it.

Both raise :class:`~faceforge.errors.OutputError` (exit code 5).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Self

from faceforge.errors import OutputError
from faceforge.media.atomic import NAME_MAX
from faceforge.media.locking import AdvisoryLock

LOCK_PREFIX = ".faceforge-lock-"


def _resolved(path: Path) -> Path:
    """``path`` made absolute with every symlink followed (missing trailing parts kept as written)."""
    return Path(os.path.abspath(path)).resolve(strict=False)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # hard links and bind mounts, which resolve() cannot see
    except OSError:
        return False


def is_same_path(output: Path, other: Path) -> bool:
    """True when ``output`` and ``other`` name the same file or folder."""
    return _resolved(output) == _resolved(other) or _same_file(output, other)


def check_output(output: Path, inputs: Iterable[Path], overwrite: bool = False) -> Path:
    """Refuse to write ``output`` over one of ``inputs``, or over an existing file without ``overwrite``.

    Returns ``output`` unchanged. An input folder counts as an input: writing the output folder into
    itself is refused too. An existing *folder* at ``output`` is the caller's business (a folder run adds
    to it, a faceset grows), so only an existing file needs ``overwrite``.
    """
    output = Path(output)
    for source in inputs:
        if is_same_path(output, Path(source)):
            raise OutputError(
                f"The output {output} is the input {source}; writing it would destroy the original, "
                "so choose another output path (--overwrite never allows this)."
            )
    if output.is_symlink() and not output.exists():
        raise OutputError(f"The output {output} is a broken symbolic link; remove it or choose another path.")
    if output.exists() and not output.is_dir() and not overwrite:
        raise OutputError(
            f"The output {output} already exists and was kept; pass --overwrite (-y) to replace it."
        )
    return output


def lock_path(output: Path) -> Path:
    """The hidden lock file beside ``output``; its name is cut to fit :data:`NAME_MAX` bytes."""
    output = Path(os.path.abspath(output))
    name = output.name.encode()[: NAME_MAX - len(LOCK_PREFIX)].decode(errors="ignore")
    return output.parent / f"{LOCK_PREFIX}{name}"


class OutputLock(AdvisoryLock):
    """The advisory lock on one output (a file or a folder), taken without waiting.

    Use it around the whole write: ``with OutputLock(path): ...``. The folder the output goes into is
    created, as every writer does. The lock is released (and its file removed) when the block ends or
    the process dies.
    """

    def __init__(self, output: Path) -> None:
        self.output = Path(output)
        super().__init__(
            lock_path(self.output),
            f"The output {self.output} is being written by another faceforge process ({{holder}}); "
            "wait for it to finish, or choose another output path.",
            remove_on_release=True,
        )

    def acquire(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"Cannot write {self.output}: {exc.strerror or exc}.") from None
        super().acquire()
        return self


def sweep_locks(folder: Path, dry_run: bool = False) -> tuple[list[Path], list[Path]]:
    """The output lock files directly in ``folder``, as (stale, held). A stale one (its run was killed
    with SIGKILL: the file stays, the lock died with the process) is removed unless ``dry_run``, while
    this process holds its lock, so no run that is taking it at that moment loses it; a held one is
    never touched."""
    stale, held = [], []
    try:
        entries = sorted(e.path for e in os.scandir(folder) if e.name.startswith(LOCK_PREFIX) and e.is_file())
    except OSError:
        return [], []
    for name in entries:
        try:
            fd = os.open(name, os.O_RDWR)
        except OSError:
            continue  # gone meanwhile, or not ours to open
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            held.append(Path(name))
            os.close(fd)
            continue
        try:
            if not dry_run:
                Path(name).unlink(missing_ok=True)
            stale.append(Path(name))
        finally:
            os.close(fd)
    return stale, held
