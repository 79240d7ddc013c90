"""The progress callback every long-running stage accepts: ``progress(done, total)``, called as work
advances (``total`` may grow when a stage learns more, e.g. a video's real frame count)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]
