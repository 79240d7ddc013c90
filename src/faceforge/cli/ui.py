"""``faceforge ui``: the web app, on this machine only unless a login is required."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from faceforge.cli.errors import Debug, reported_errors
from faceforge.errors import FaceforgeError
from faceforge.ui.server import DEFAULT_HOST, DEFAULT_PORT, check_bind, is_local_host, parse_auth, url
from faceforge.ui.uploads import DEFAULT_MAX_UPLOAD_MB


def default_workdir() -> Path:
    """$XDG_CACHE_HOME/faceforge/ui, else ~/.cache/faceforge/ui: the job table and the jobs' files."""
    cache = os.environ.get("XDG_CACHE_HOME")
    return (Path(cache) if cache else Path.home() / ".cache") / "faceforge" / "ui"


def ui(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; anything but loopback needs --auth.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    auth: Annotated[
        str | None, typer.Option(help="USER:PASSWORD required to log in (required beyond localhost).")
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the job table, job inputs and results [default: ~/.cache/faceforge/ui]."
        ),
    ] = None,
    max_upload_mb: Annotated[
        int, typer.Option(help="Largest file an upload may be, in MB.", min=1)
    ] = DEFAULT_MAX_UPLOAD_MB,
    debug: Debug = False,
) -> None:
    """Start the web UI (swap with a live preview, queued jobs) and print its address; Ctrl-C stops it."""
    out = Console(soft_wrap=True)
    with reported_errors(debug, stopped="The UI stopped; queued jobs resume at the next start."):
        credentials = parse_auth(auth)
        check_bind(host, port, credentials)
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # this process only: no phoning home
        from faceforge.ui.app import create_app
        from faceforge.ui.uploads import UploadLimits

        if not is_local_host(host):
            out.print(
                f"warning: the UI is reachable from other machines on {host}; only users with the "
                "--auth login can use it.",
                highlight=False,
            )
        app = create_app(workdir or default_workdir(), UploadLimits(max_bytes=max_upload_mb * 2**20))
        try:
            try:
                app.launch(host, port, credentials)
            except OSError as exc:
                raise FaceforgeError(f"Cannot listen on {host}:{port}: {str(exc).rstrip('.')}.") from None
            out.print(f"faceforge UI at {url(host, port)}", highlight=False)
            threading.Event().wait()
        finally:
            app.close()
