"""One writer at a time: an advisory lock on a faceset, released by the kernel when its holder dies.

The lock is :class:`~faceforge.media.locking.AdvisoryLock` on ``FACESET/.faceforge-lock``, which also
says who holds it. The file is never deleted: it lives inside the faceset, where it bothers nobody.
"""

from __future__ import annotations

from pathlib import Path

from faceforge.media.locking import AdvisoryLock

LOCK_NAME = ".faceforge-lock"


class WriterLock(AdvisoryLock):
    """The exclusive lock on a folder's lock file, taken without waiting: if another process holds it,
    :meth:`acquire` raises OutputError naming that process. ``what`` names the folder in the sentence,
    e.g. ``"The faceset /data/set"``."""

    def __init__(self, folder: Path, what: str) -> None:
        super().__init__(
            Path(folder) / LOCK_NAME,
            f"{what} is being changed by another faceforge process ({{holder}}); "
            "wait for it to finish, or stop it, and run this command again.",
        )
