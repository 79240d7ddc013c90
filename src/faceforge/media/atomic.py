"""Write outputs under a temporary name and rename them into place only when complete.

A reader (or a person) never sees a half-written file under the final name: the data goes to a hidden
sibling ``.faceforge-tmp-<random>-<name>`` in the same folder (same file system, so the final
``os.replace`` is atomic) and keeps the suffix so encoders pick the format from it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faceforge.errors import OutputError

TEMP_PREFIX = ".faceforge-tmp-"


class AtomicOutput:
    """A temporary sibling of ``path`` that is either committed (renamed over ``path``) or discarded.

    Use :func:`atomic_output` where a ``with`` block fits; this class is for writers whose lifetime
    spans several calls (a video writer opened in one place and closed in another).
    """

    def __init__(self, path: Path) -> None:
        path = Path(path)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise OutputError(f"Cannot write {path}: the folder {folder} does not exist.")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"Cannot write {path}: the folder {folder} is not writable.")
        if path.is_dir():
            raise OutputError(f"Cannot write {path}: a folder with that name exists.")
        self.path = path
        # The file is not created here: the encoder creates it, so it gets the usual permissions (umask).
        self.temp_path = folder / f"{TEMP_PREFIX}{secrets.token_hex(6)}-{path.name}"
        self.done = False

    def commit(self) -> None:
        """Rename the temporary file over the final path."""
        if self.done:
            return
        self.done = True
        try:
            os.replace(self.temp_path, self.path)
        except OSError as exc:
            self.temp_path.unlink(missing_ok=True)
            raise OutputError(f"Cannot write {self.path}: {exc.strerror or exc}.") from exc

    def discard(self) -> None:
        """Delete the temporary file, if any; the final path is left untouched."""
        self.done = True
        self.temp_path.unlink(missing_ok=True)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` if the block succeeds.

    On any exception (including ``KeyboardInterrupt``) the temporary file is deleted and the exception
    re-raised, so no partial output ever appears under ``path``.
    """
    out = AtomicOutput(path)
    try:
        yield out.temp_path
    except BaseException:
        out.discard()
        raise
    out.commit()
