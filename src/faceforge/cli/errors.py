"""How the command reports failures: one sentence on stderr and a non-zero exit code, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from faceforge.errors import FaceforgeError

INTERRUPTED = 130
BAD_OPTION = 2
INTERNAL = 70


@contextmanager
def reported_errors(debug: bool = False, console: Console | None = None) -> Iterator[None]:
    """Turn expected failures into a message and an exit code; unexpected ones too, unless debugging."""
    err = console or Console(stderr=True)
    try:
        yield
    except FaceforgeError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(BAD_OPTION)
    except KeyboardInterrupt:
        err.print("[bold red]interrupted:[/] no partial output was left behind.")
        sys.exit(INTERRUPTED)
    except Exception as exc:
        if debug:
            raise
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. "
            "This is a bug in faceforge; run again with --debug for the traceback and report it.",
            highlight=False,
        )
        sys.exit(INTERNAL)
