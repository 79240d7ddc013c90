"""The web app: the tabs over one working folder, one job table and one job runner.

``workdir`` holds the job table (``jobs.sqlite``), each job's copied inputs and result
(``jobs/<id>/``) and the per-session upload folders (``sessions/``, removed when the page goes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from faceforge.ui.compare_tab import CompareTab
from faceforge.ui.facesets_tab import FacesetsTab
from faceforge.ui.jobs import JobRunner, JobStore
from faceforge.ui.live_tab import LiveTab
from faceforge.ui.server import Credentials
from faceforge.ui.swap_tab import SwapTab, run_swap_job
from faceforge.ui.train_tab import TrainTab
from faceforge.ui.uploads import UploadLimits

TITLE = "faceforge"
NOTICE = (
    "Every output is tagged as synthetic media. Swap only faces you have consent to use, and label "
    "what you publish."
)


@dataclass
class FaceforgeApp:
    """The Blocks and what they own; :meth:`close` stops the runner and frees the analyser."""

    blocks: gr.Blocks
    runner: JobRunner
    swap: SwapTab
    live: LiveTab
    train: TrainTab
    workdir: Path
    limits: UploadLimits

    def launch(self, host: str, port: int, auth: Credentials | None, quiet: bool = True) -> str:
        """Start serving without blocking; the URL it serves at."""
        self.blocks.queue(default_concurrency_limit=1)
        _, local_url, _ = self.blocks.launch(
            server_name=host,
            server_port=port,
            auth=(auth.user, auth.password) if auth else None,
            prevent_thread_lock=True,
            share=False,
            quiet=quiet,
            show_error=False,
            max_file_size=self.limits.max_bytes,
            allowed_paths=[str(self.workdir / "jobs")],
            footer_links=[],
        )
        return str(local_url)

    def close(self) -> None:
        self.blocks.close()
        self.runner.stop()
        self.live.close()
        self.train.close()
        self.swap.close()


def create_app(workdir: Path, limits: UploadLimits | None = None) -> FaceforgeApp:
    """The app over ``workdir``, its job runner started (jobs left queued or running resume)."""
    limits = limits or UploadLimits()
    workdir.mkdir(parents=True, exist_ok=True)
    store = JobStore(workdir / "jobs.sqlite")
    runner = JobRunner(store, run_swap_job)
    swap = SwapTab(workdir, limits, store, runner)
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as blocks:
        gr.Markdown(f"# {TITLE}\n{NOTICE}")
        with gr.Tab("Swap"):
            inputs = swap.build()
        with gr.Tab("Compare"):
            CompareTab(swap).build(inputs, swap.controls.inputs if swap.controls else [])
        with gr.Tab("Live"):
            live = LiveTab(swap)
            live.build(inputs, swap.controls.inputs if swap.controls else [])
        with gr.Tab("Facesets"):
            FacesetsTab().build()
        with gr.Tab("Train"):
            train = TrainTab()
            train.build()
        blocks.unload(swap.on_unload)
        blocks.unload(live.on_unload)
    runner.start()
    return FaceforgeApp(blocks, runner, swap, live, train, workdir, limits)
