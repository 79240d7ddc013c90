"""How the command reports failures: one sentence on stderr and a non-zero exit code, no traceback.

An error faceforge raises on purpose (:mod:`faceforge.errors`) is the user's to fix: its sentence and its
class's exit code. Anything else, a ``ValueError`` from numpy or PyAV included, is a bug: exit 70 with a
pointer to ``--debug``. Every exit code is listed in ``docs/errors.md`` (``tests/cli/test_errors_doc.py``
checks the list against this module and :mod:`faceforge.errors`).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from faceforge.errors import FaceforgeError

INTERRUPTED = 130
TERMINATED = 143
BAD_OPTION = 2  # also what the command-line parser exits with on an unknown flag or a bad choice
INTERNAL = 70
_BUG = "This is a bug in faceforge; run again with --debug for the traceback and report it."

#: Packages of the optional extras (pyproject's optional-dependencies), by import name.
EXTRAS = {
    "gradio": "ui",
    "ray": "scale",
    "tensorboard": "train",
    "lion_pytorch": "train",
    "diffusers": "diffusion",
    "peft": "diffusion",
    "transformers": "diffusion",
    "accelerate": "diffusion",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The sentence for an import that failed because an optional extra is not installed, else None."""
    top = (exc.name or "").split(".")[0]
    if top not in EXTRAS:
        return None
    return f"This needs the optional package {top}: pip install 'faceforge[{EXTRAS[top]}]'."


#: The ``--debug`` flag of a command, for :func:`reported_errors`.
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")]


class Terminated(BaseException):
    """SIGTERM, turned into an exception so that ``with`` blocks unwind and discard partial outputs."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def handle_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C does (the default action kills the process on the spot)."""
    signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def reported_errors(
    debug: bool = False,
    console: Console | None = None,
    stopped: str = "Files being written were discarded; finished ones are kept.",
) -> Iterator[None]:
    """Turn expected failures into a message and an exit code; unexpected ones too, unless debugging.
    ``stopped`` is what a Ctrl-C or SIGTERM leaves behind, said after "interrupted." / "terminated."."""
    err = console or Console(stderr=True)

    def say(message: str) -> None:
        # soft_wrap: a sentence holding a long path stays on one line in logs, whatever the width.
        err.print(message, highlight=False, soft_wrap=True)

    try:
        yield
    except FaceforgeError as exc:
        say(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        say(f"[bold red]interrupted.[/] {stopped}")
        sys.exit(INTERRUPTED)
    except Terminated:
        say(f"[bold red]terminated.[/] {stopped}")
        sys.exit(TERMINATED)
    except typer.Exit:
        raise  # a command's own documented exit, its sentence already said
    except Exception as exc:
        sentence = missing_extra(exc) if isinstance(exc, ModuleNotFoundError) else None
        if sentence is not None:
            say(f"[bold red]error:[/] {escape(sentence)}")
            sys.exit(FaceforgeError.exit_code)
        if debug:
            raise
        say(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}. {_BUG}")
        sys.exit(INTERNAL)
