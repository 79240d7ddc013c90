"""The Train tab: start, stop and resume ``faceforge train`` on two facesets, and watch it.

Training runs as the ``faceforge train`` command in a child process, exactly as from a shell, so the
UI adds nothing to how a model is trained: Stop sends it SIGINT (the trainer saves, then exits), and
Start on a folder that holds a checkpoint resumes it. The tab reads what the trainer writes while it
runs: ``MODEL/previews/preview.png`` and the ``loss/*`` scalars of the TensorBoard events in
``MODEL/logs``, refreshed every few seconds.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from faceforge.errors import InputError
from faceforge.media.images import read_image

REFRESH_S = 2.0
LOSS_PREFIX = "loss/"


@dataclass
class TrainingRun:
    """One ``faceforge train`` child process and the lines it printed."""

    model: Path
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def loss_history(model: Path) -> dict[str, list[tuple[int, float]]]:
    """The ``loss/*`` scalars logged so far under ``model/logs``: name -> [(iteration, value)]."""
    logs = model / "logs"
    if not logs.is_dir():
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logs), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag[len(LOSS_PREFIX) :]: [(e.step, e.value) for e in events.Scalars(tag)]
        for tag in events.Tags().get("scalars", [])
        if tag.startswith(LOSS_PREFIX)
    }


def loss_table(history: dict[str, list[tuple[int, float]]]) -> object:
    """The history as the long table ``gr.LinePlot`` draws (iteration, loss, term)."""
    import pandas as pd

    rows = [(step, value, name) for name, points in history.items() for step, value in points]
    return pd.DataFrame(rows, columns=["iteration", "loss", "term"])


class TrainTab:
    """Builds the tab; one training run per model folder at a time."""

    def __init__(self) -> None:
        self._runs: dict[Path, TrainingRun] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop every run the UI started (each saves first)."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            self._interrupt(run)

    def build(self) -> None:
        gr.Markdown(
            "Runs `faceforge train FACESET_A FACESET_B -o MODEL` on this machine. Stop saves, then ends "
            "the run; Start on a model folder that holds a checkpoint resumes it."
        )
        with gr.Row():
            faceset_a = gr.Textbox(label="faceset A (face to replace)", elem_id="train-a")
            faceset_b = gr.Textbox(label="faceset B (face put in)", elem_id="train-b")
            model = gr.Textbox(label="model folder", elem_id="train-model")
        extra = gr.Textbox(
            label="more `faceforge train` options",
            placeholder="--arch dfaker --preview-every 50",
            elem_id="train-extra",
        )
        with gr.Row():
            start = gr.Button("Start / resume", variant="primary", elem_id="train-start")
            stop = gr.Button("Stop (saves first)", elem_id="train-stop")
        status = gr.Markdown("", elem_id="train-status")
        with gr.Row():
            preview = gr.Image(label="Latest preview", interactive=False, elem_id="train-preview")
            curve = gr.LinePlot(x="iteration", y="loss", color="term", label="Loss", elem_id="train-loss")
        log = gr.Textbox(label="Output", lines=6, interactive=False, elem_id="train-log")
        start.click(self.on_start, [faceset_a, faceset_b, model, extra], status)
        stop.click(self.on_stop, model, status)
        gr.Timer(REFRESH_S).tick(self.on_refresh, model, [status, preview, curve, log])

    def on_start(self, faceset_a: str, faceset_b: str, model: str, extra: str) -> str:
        try:
            if not (faceset_a.strip() and faceset_b.strip() and model.strip()):
                raise InputError("Give both facesets and the model folder.")
            folder = Path(model.strip()).expanduser().resolve()
            try:
                options = shlex.split(extra)
            except ValueError as exc:
                raise InputError(f"The extra options cannot be read: {exc}.") from None
            with self._lock:
                running = self._runs.get(folder)
                if running is not None and running.running:
                    raise InputError(f"{folder} is already training; stop it first.")
                command = [sys.executable, "-m", "faceforge", "train", faceset_a.strip(), faceset_b.strip()]
                process = subprocess.Popen(
                    [*command, "-o", str(folder), *options],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                run = self._runs[folder] = TrainingRun(folder, process)
        except InputError as exc:
            return f"**Error:** {exc}"
        threading.Thread(target=_collect, args=(run,), daemon=True, name="faceforge-ui-train").start()
        return f"Training {folder} (process {process.pid})."

    def on_stop(self, model: str) -> str:
        folder = Path(model.strip()).expanduser().resolve() if model.strip() else None
        with self._lock:
            run = self._runs.get(folder) if folder else None
        if run is None or not run.running:
            return "Nothing is training in that folder."
        self._interrupt(run)
        return f"Stopped {folder} (exit {run.process.returncode}); Start resumes it."

    @staticmethod
    def _interrupt(run: TrainingRun) -> None:
        if run.running:
            run.process.send_signal(signal.SIGINT)
        run.process.wait()

    def on_refresh(self, model: str) -> tuple:
        if not model.strip():
            return gr.update(), gr.update(), gr.update(), gr.update()
        folder = Path(model.strip()).expanduser().resolve()
        with self._lock:
            run = self._runs.get(folder)
        preview = folder / "previews" / "preview.png"
        shown = read_image(preview) if preview.is_file() else gr.update()  # any folder, not only served ones
        log = "\n".join(run.lines[-40:]) if run else gr.update()
        state: object
        if run is None:
            state = gr.update()
        elif run.running:
            state = f"Training {folder} (process {run.process.pid})."
        else:
            state = f"Training of {folder} ended (exit {run.process.returncode})."
        return state, shown, loss_table(loss_history(folder)), log


def _collect(run: TrainingRun) -> None:
    for line in run.process.stdout or ():  # always a pipe: the process is started with stdout=PIPE
        run.lines.append(line.rstrip("\n"))
