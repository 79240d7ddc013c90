"""The Live tab: the browser's webcam, streamed frame by frame into the same live loop as
``faceforge live`` (latest-frame slot, tracker and smoothing, fps and latency drawn on the output).

Each browser session gets its own :class:`BrowserLive`: a swap session and a thread running
:func:`faceforge.live.stream.run_live` on the frames the page streams in. It starts with the first frame,
starts again when the options or sources change, and stops when the page is closed or reloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from faceforge.config import SwapConfig
from faceforge.errors import InputError
from faceforge.live.feed import LatestOutput, PushedFrames
from faceforge.live.stream import LiveStats, run_live
from faceforge.pipeline.session import SwapSession
from faceforge.ui.swap_tab import ERRORS, SwapInputs, SwapTab

STREAM_EVERY_S = 0.1  # how often the page sends a webcam frame


class BrowserLive:
    """One browser session's live run (a ``gr.State`` value; empty until the first frame)."""

    def __init__(self) -> None:
        self.feed = PushedFrames()  # each start() makes a fresh pair
        self.output = LatestOutput()
        self.stats: LiveStats | None = None
        self.error: str | None = None
        self.config: SwapConfig | None = None  # what the running loop was started with
        self.sources: list[Path] = []
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, inputs: SwapInputs, config: SwapConfig) -> None:
        if not inputs.sources:
            raise InputError("Upload a source photo in the Swap tab first.")
        self.feed, self.output, self.error = PushedFrames(), LatestOutput(), None
        self.config, self.sources = config, list(inputs.sources)
        feed, output, sources = self.feed, self.output, self.sources

        def run() -> None:
            try:
                with SwapSession([[sources[0]]], config) as session:
                    self.stats = run_live(session, feed, output)
            except ERRORS as exc:
                self.error = str(exc)

        self._thread = threading.Thread(target=run, name="faceforge-ui-live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.feed.end()
        if self._thread is not None:
            self._thread.join()
        self._thread = None


class LiveTab:
    def __init__(self, swap: SwapTab) -> None:
        self.swap = swap
        self._runs: dict[str, BrowserLive] = {}  # by Gradio session hash
        self._runs_lock = threading.Lock()

    def _run(self, session: str) -> BrowserLive:
        with self._runs_lock:
            return self._runs.setdefault(session, BrowserLive())

    def on_unload(self, request: gr.Request) -> None:
        """The page went: stop its live loop and free its swap session."""
        with self._runs_lock:
            live = self._runs.pop(str(request.session_hash), None)
        if live is not None:
            live.stop()

    def close(self) -> None:
        with self._runs_lock:
            runs, self._runs = list(self._runs.values()), {}
        for live in runs:
            live.stop()

    def build(self, inputs: gr.State, controls: Sequence[gr.components.Component]) -> None:
        gr.Markdown("Your webcam, swapped with the Swap tab's first source photo and options.")
        with gr.Row():
            camera = gr.Image(sources=["webcam"], streaming=True, label="Webcam", elem_id="live-camera")
            shown = gr.Image(label="Swapped", interactive=False, elem_id="live-output", streaming=True)
        status = gr.Markdown("", elem_id="live-status")
        camera.stream(
            self.on_frame, [camera, inputs, *controls], [shown, status], stream_every=STREAM_EVERY_S
        )
        camera.clear(self.on_stop, inputs, status)

    def on_frame(self, frame: np.ndarray | None, inputs: SwapInputs, *values: Any) -> tuple:
        if frame is None:
            return gr.update(), gr.update()
        live = self._run(inputs.session)  # the session is known once a source is uploaded
        try:
            config = self.swap.option_controls.config(values)
            if live.running and (config != live.config or inputs.sources != live.sources):
                live.stop()  # the options or the source changed: start again with the new ones
            if not live.running:
                live.start(inputs, config)
        except ERRORS as exc:
            return gr.update(), f"**Error:** {exc}"
        live.feed.push(np.ascontiguousarray(frame[..., :3]))
        if live.error:
            return gr.update(), f"**Error:** {live.error}"
        latest = live.output.latest()
        said = f"{live.output.written} frames swapped so far." if latest is not None else "Starting…"
        return (latest if latest is not None else gr.update()), said

    def on_stop(self, inputs: SwapInputs) -> str:
        live = self._run(inputs.session)
        live.stop()
        return live.stats.summary() if live.stats else ""
