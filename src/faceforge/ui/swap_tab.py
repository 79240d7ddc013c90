"""The Swap tab: sources, target, face thumbnails, generated options, live preview, queued runs.

Every handler turns a faceforge error into one sentence in the status line (``#status``); nothing a
user does shows a traceback. The preview renders through the same :class:`SwapSession` calls as a run
(``render_image`` for a still, ``preview_frame`` for a video frame), so it is what the run will write.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.api import swap_path
from faceforge.errors import FaceforgeError, InputError
from faceforge.media.images import is_image_path, write_image
from faceforge.media.probe import probe_video
from faceforge.pipeline.session import SwapSession
from faceforge.pipeline.video import VideoReport
from faceforge.ui.controls import OptionControls, build_controls, config_from_settings
from faceforge.ui.faces import FaceChoice, TargetFace, find_target_faces, references_for, target_frame
from faceforge.ui.jobs import DONE, JobRequest, JobRunner, JobStore
from faceforge.ui.uploads import UploadLimits, accept_upload, remove_session_folder, session_folder

ERRORS = (FaceforgeError, ValueError)


@dataclass
class SwapInputs:
    """One browser session's uploads and face choice (a ``gr.State`` value)."""

    sources: list[Path] = field(default_factory=list)
    target: Path | None = None
    frame: int = 0
    faces: list[TargetFace] = field(default_factory=list)
    choice: FaceChoice = field(default_factory=FaceChoice)
    session: str = ""  # the Gradio session hash, set with the first upload (other tabs key by it)

    @property
    def is_video(self) -> bool:
        return self.target is not None and not is_image_path(self.target)


def _error(exc: BaseException) -> str:
    return f"**Error:** {exc}"


def run_swap_job(request: JobRequest, output: Path, progress: Callable[[int, int], None]) -> str:
    """Run one stored job through :func:`faceforge.api.swap_path` (audio and provenance tag kept)."""
    references = [Path(p) for p in request.references] if request.references else None
    result = swap_path(
        [[Path(p) for p in person] for person in request.sources],
        Path(request.target),
        output,
        config_from_settings(request.settings),
        references,
        progress,
    )
    if isinstance(result, VideoReport):
        return f"{result.frames_swapped} of {result.frames} frames swapped."
    return f"{result} face(s) swapped."


class SwapTab:
    """Builds the tab inside a Blocks context and serves its events."""

    def __init__(self, workdir: Path, limits: UploadLimits, store: JobStore, runner: JobRunner) -> None:
        self.workdir = workdir
        self.limits = limits
        self.store = store
        self.runner = runner
        self._analyser: FaceAnalyser | None = None
        self.lock = threading.RLock()  # the UI's analyser and the previews: one at a time
        self.controls: OptionControls | None = None  # made by build()

    @property
    def option_controls(self) -> OptionControls:
        """The option controls; :meth:`build` makes them before any event handler can run."""
        if self.controls is None:
            raise RuntimeError("The Swap tab's option controls were read before build() made them.")
        return self.controls

    def close(self) -> None:
        with self.lock:
            if self._analyser is not None:
                self._analyser.close()
                self._analyser = None

    def analyser(self) -> FaceAnalyser:
        """The UI's own analyser (face thumbnails, Compare's measurements); use it under :attr:`lock`."""
        with self.lock:
            if self._analyser is None:
                self._analyser = FaceAnalyser()
            return self._analyser

    def _faces(self, image: np.ndarray) -> list[TargetFace]:
        with self.lock:
            return find_target_faces(self.analyser(), image)

    # -- layout -------------------------------------------------------------------------------------

    def build(self) -> gr.State:
        """The tab's components and events; returns the session's inputs (the other tabs read them)."""
        inputs = gr.State(SwapInputs())
        status = gr.Markdown("Upload a source photo and a target image or video.", elem_id="status")
        with gr.Row():
            with gr.Column(scale=1):
                sources = gr.File(label="Source photo(s)", file_count="multiple", elem_id="sources")
                target = gr.File(label="Target image or video", elem_id="target")
                frame = gr.Slider(0, 1, value=0, step=1, label="Frame", visible=False, elem_id="frame")
                source_for_click = gr.Dropdown(
                    choices=["source 1"],
                    value="source 1",
                    label="A clicked face gets",
                    elem_id="click-source",
                )
                gallery = gr.Gallery(
                    label="Target faces (click to choose)",
                    columns=6,
                    height=170,
                    allow_preview=False,
                    elem_id="faces",
                    interactive=False,
                )
                selection = gr.Markdown(FaceChoice().describe(1), elem_id="selection")
            with gr.Column(scale=1):
                preview = gr.Image(label="Preview", interactive=False, elem_id="preview", format="png")
                run = gr.Button("Run swap", variant="primary", elem_id="run")
        with gr.Accordion("Options", open=True):
            self.controls = controls = build_controls()
        jobs = gr.HTML(self.jobs_html(), elem_id="jobs")
        with gr.Row():
            result_image = gr.Image(label="Result", interactive=False, elem_id="result-image", format="png")
            result_video = gr.Video(label="Result video", interactive=False, elem_id="result-video")
        download = gr.File(label="Download", interactive=False, elem_id="download")
        shown = gr.State(0)  # the job whose result this page shows
        timer = gr.Timer(1.0)

        preview_inputs = [inputs, *controls.inputs]
        sources.upload(self.on_sources, [inputs, sources], [inputs, source_for_click, status]).then(
            self.on_preview, preview_inputs, [preview, status]
        )
        target.upload(self.on_target, [inputs, target], [inputs, frame, gallery, selection, status]).then(
            self.on_preview, preview_inputs, [preview, status]
        )
        frame.release(self.on_frame, [inputs, frame], [inputs, gallery, selection, status]).then(
            self.on_preview, preview_inputs, [preview, status]
        )
        gallery.select(self.on_face_click, [inputs, source_for_click], [inputs, selection]).then(
            self.on_preview, preview_inputs, [preview, status]
        )
        for control in controls.inputs:
            control.change(self.on_preview, preview_inputs, [preview, status])
        run.click(self.on_run, [inputs, *controls.inputs], [status, jobs])
        timer.tick(self.on_tick, shown, [shown, jobs, result_image, result_video, download])
        return inputs

    # -- events -------------------------------------------------------------------------------------

    def _folder(self, inputs: SwapInputs, request: gr.Request) -> Path:
        inputs.session = str(request.session_hash)
        return session_folder(self.workdir / "sessions", inputs.session)

    def on_unload(self, request: gr.Request) -> None:
        """The page was closed or reloaded: its uploads go (jobs keep copies of their own)."""
        remove_session_folder(self.workdir / "sessions", str(request.session_hash))

    def on_sources(self, inputs: SwapInputs, files: Sequence[str] | None, request: gr.Request) -> tuple:
        try:
            paths = [
                accept_upload(f, self._folder(inputs, request), self.limits, videos=False)
                for f in files or []
            ]
        except ERRORS as exc:
            return inputs, gr.update(), _error(exc)
        inputs.sources, inputs.choice = paths, FaceChoice()
        names = [f"source {i + 1}" for i in range(max(1, len(paths)))]
        return inputs, gr.update(choices=names, value=names[0]), f"{len(paths)} source photo(s) ready."

    def on_target(self, inputs: SwapInputs, file: str | None, request: gr.Request) -> tuple:
        try:
            if file is None:
                raise InputError("Upload a target image or video.")
            path = accept_upload(file, self._folder(inputs, request), self.limits)
            frames = 1 if is_image_path(path) else probe_video(path, self.limits.max_pixels).frame_count
            inputs.target, inputs.frame = path, 0
            gallery, selection = self._detect(inputs)
        except ERRORS as exc:
            inputs.target = None
            return inputs, gr.update(visible=False), [], FaceChoice().describe(1), _error(exc)
        slider = gr.update(visible=inputs.is_video, maximum=max(1, frames - 1), value=0)
        return inputs, slider, gallery, selection, f"{len(inputs.faces)} face(s) found in the target."

    def _detect(self, inputs: SwapInputs) -> tuple[list[np.ndarray], str]:
        if inputs.target is None:
            raise InputError("Upload a target image or video first.")
        inputs.faces = self._faces(target_frame(inputs.target, inputs.frame, self.limits.max_pixels))
        inputs.choice = FaceChoice()
        return [face.thumbnail for face in inputs.faces], inputs.choice.describe(len(inputs.sources))

    def on_frame(self, inputs: SwapInputs, frame: float) -> tuple:
        try:
            inputs.frame = int(frame)
            gallery, selection = self._detect(inputs)
        except ERRORS as exc:
            return inputs, gr.update(), gr.update(), _error(exc)
        return inputs, gallery, selection, f"{len(inputs.faces)} face(s) in frame {inputs.frame}."

    def on_face_click(self, inputs: SwapInputs, source: str, event: gr.SelectData) -> tuple:
        source_index = int(source.rsplit(" ", 1)[-1]) - 1 if source else 0
        inputs.choice = inputs.choice.toggled(int(event.index), source_index)
        return inputs, inputs.choice.describe(len(inputs.sources))

    def on_preview(self, inputs: SwapInputs, *values: Any) -> tuple:
        if not inputs.sources or inputs.target is None:
            return gr.update(), gr.update()
        try:
            config = self.option_controls.config(values)
            people, references = references_for(inputs.choice, inputs.faces, inputs.sources)
            with self.lock, SwapSession(people, config, references) as session:
                if inputs.is_video:
                    rendered = session.preview_frame(inputs.target, inputs.frame)
                else:
                    rendered = session.render_image(target_frame(inputs.target, 0, self.limits.max_pixels))
        except ERRORS as exc:
            return gr.update(), _error(exc)
        said = f"Preview: {rendered.faces_swapped} face(s) swapped"
        if rendered.faces_declined:
            said += f", {rendered.faces_declined} declined by the swapper"
        return rendered.image, said + "."

    def on_run(self, inputs: SwapInputs, *values: Any) -> tuple:
        try:
            job_id = self.queue(inputs, self.option_controls.settings(values))
        except ERRORS as exc:
            return _error(exc), self.jobs_html()
        return f"Job {job_id} queued.", self.jobs_html()

    def queue(self, inputs: SwapInputs, settings: dict[str, Any]) -> int:
        """Copy the inputs into a job folder of their own (the session folder goes when the page does)
        and add the job to the table."""
        if not inputs.sources or inputs.target is None:
            raise InputError("Upload a source photo and a target before running.")
        people, references = references_for(inputs.choice, inputs.faces, inputs.sources)
        config_from_settings(settings)  # refuse bad settings now, not when the job runs
        folder = self.workdir / "jobs" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        copies: dict[Path, str] = {}
        for path in [inputs.target, *(p for person in people for p in person)]:
            if path not in copies:
                copies[path] = str(shutil.copy2(path, folder / f"input-{len(copies)}{path.suffix}"))
        saved = None
        if references is not None:
            saved = []
            for i, crop in enumerate(references):
                write_image(folder / f"reference-{i}.png", crop)
                saved.append(str(folder / f"reference-{i}.png"))
        request = JobRequest(
            [[copies[p] for p in person] for person in people], copies[inputs.target], saved, settings
        )
        suffix = inputs.target.suffix.lower() if inputs.is_video else ".png"
        return self.runner.submit(request, folder / f"result{suffix}")

    def jobs_html(self) -> str:
        rows = []
        for job in reversed(self.store.jobs()):
            percent = round(100 * job.fraction)
            rows.append(
                f'<tr class="job job-{job.state}" data-job="{job.id}"><td>{job.id}</td>'
                f'<td class="job-state">{job.state}</td>'
                f'<td><progress max="100" value="{percent}"></progress> {percent}%</td>'
                f"<td>{_escape(job.message)}</td></tr>"
            )
        if not rows:
            return "<p>No jobs yet.</p>"
        head = "<tr><th>job</th><th>state</th><th>progress</th><th>message</th></tr>"
        return f'<table class="jobs">{head}{"".join(rows)}</table>'

    def on_tick(self, shown: int) -> tuple:
        """The job table, and the newest finished result when it is not on the page yet."""
        done = [job for job in self.store.jobs() if job.state == DONE and job.output.exists()]
        if not done or done[-1].id == shown:
            return shown, self.jobs_html(), gr.update(), gr.update(), gr.update()
        last = done[-1]
        if is_image_path(last.output):
            return last.id, self.jobs_html(), str(last.output), gr.update(value=None), str(last.output)
        return last.id, self.jobs_html(), gr.update(value=None), str(last.output), str(last.output)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
