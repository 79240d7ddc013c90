"""The Compare tab: the Swap tab's frame rendered with several option sets side by side, with the
evaluation metrics under each.

Each option set is the Swap tab's current settings plus ``KEY=VALUE`` lines read against the option
declarations (:func:`faceforge.options.parse_assignments`, as ``faceforge evaluate --option`` reads
them). Metrics come from :mod:`faceforge.evaluation.metrics`, measured with the UI's own analyser (never
the swapping session's): identity distance of each swapped face to its source (lower is more like the
source), head-pose error against the target face in degrees, and PSNR/SSIM of everything outside the
faces against the target (how well the swap leaves the rest, seams included, alone).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from faceforge.config import SwapConfig, configured, swap_declarations
from faceforge.errors import InputError
from faceforge.evaluation import metrics as m
from faceforge.evaluation.inputs import match_face
from faceforge.options import parse_assignments
from faceforge.pipeline.session import SwapSession
from faceforge.ui.faces import references_for, target_frame
from faceforge.ui.swap_tab import ERRORS, SwapInputs, SwapTab

COLUMNS = 3
EXAMPLES = ("", "compose.color=none", "compose.blend=poisson")


@dataclass(frozen=True, slots=True)
class Scores:
    identity_to_source: float
    pose_error: float
    background_psnr: float
    background_ssim: float
    faces: int

    def html(self) -> str:
        return (
            f"<ul class='scores'><li>identity to source: {self.identity_to_source:.3f}</li>"
            f"<li>pose error: {self.pose_error:.2f}°</li>"
            f"<li>background PSNR: {self.background_psnr:.1f} dB, SSIM {self.background_ssim:.3f}</li>"
            f"<li>faces measured: {self.faces}</li></ul>"
        )


def parse_option_set(text: str, base: SwapConfig) -> SwapConfig:
    """``base`` with the ``KEY=VALUE`` lines of ``text`` (blank lines and ``#`` comments skipped)."""
    lines = [line.strip() for line in text.splitlines()]
    items = [line for line in lines if line and not line.startswith("#")]
    return configured(base, parse_assignments(swap_declarations(), items))


class CompareTab:
    def __init__(self, swap: SwapTab) -> None:
        self.swap = swap

    def build(self, inputs: gr.State, base_controls: Sequence[gr.components.Component]) -> None:
        gr.Markdown(
            "The Swap tab's sources, target, frame, face choice and options, with the changes below "
            "(one `KEY=VALUE` per line, as `faceforge evaluate --option` takes them)."
        )
        with gr.Row():
            sets = [
                gr.Textbox(
                    value=EXAMPLES[i], lines=3, label=f"option set {i + 1}", elem_id=f"compare-set-{i}"
                )
                for i in range(COLUMNS)
            ]
        run = gr.Button("Compare", elem_id="compare-run")
        status = gr.Markdown("", elem_id="compare-status")
        images, scores = [], []
        with gr.Row():
            for i in range(COLUMNS):
                with gr.Column():
                    images.append(
                        gr.Image(label=f"set {i + 1}", interactive=False, elem_id=f"compare-image-{i}")
                    )
                    scores.append(gr.HTML("", elem_id=f"compare-scores-{i}"))
        run.click(self.on_compare, [inputs, *sets, *base_controls], [status, *images, *scores])

    def on_compare(self, inputs: SwapInputs, *values: Any) -> tuple:
        texts, controls = values[:COLUMNS], values[COLUMNS:]
        empty = (gr.update(),) * (2 * COLUMNS)
        try:
            if not inputs.sources or inputs.target is None:
                raise InputError("Upload a source photo and a target in the Swap tab first.")
            base = self.swap.option_controls.config(controls)
            configs = [parse_option_set(text, base) for text in texts]
            target = target_frame(inputs.target, inputs.frame, self.swap.limits.max_pixels)
            results = [self.render_and_score(inputs, config, target) for config in configs]
        except ERRORS as exc:
            return (f"**Error:** {exc}", *empty)
        shown = [image for image, _ in results]
        said = [score.html() if score else "<p>No swapped face to measure.</p>" for _, score in results]
        frame = f"frame {inputs.frame}" if inputs.is_video else "the target image"
        return (f"Compared {COLUMNS} option sets on {html.escape(frame)}.", *shown, *said)

    def render_and_score(
        self, inputs: SwapInputs, config: SwapConfig, target: np.ndarray
    ) -> tuple[np.ndarray, Scores | None]:
        people, references = references_for(inputs.choice, inputs.faces, inputs.sources)
        with self.swap.lock, SwapSession(people, config, references) as session:
            if inputs.target is not None and inputs.is_video:
                rendered = session.preview_frame(inputs.target, inputs.frame)
            else:
                rendered = session.render_image(target)
            chosen = session.assign(target, session.analyser.faces(target))
            sources = [identity.embedding for identity in session.identities]
        if rendered.faces_swapped == 0:
            return rendered.image, None
        return rendered.image, self.score(target, rendered.image, chosen, sources)

    def score(self, target: np.ndarray, output: np.ndarray, chosen: list, sources: list) -> Scores | None:
        analyser = self.swap.analyser()
        with self.swap.lock:
            found = analyser.faces(output)
            distances, poses = [], []
            for assignment in chosen:
                face = match_face(found, assignment.face.box)
                source = sources[assignment.source]
                if face is None or source is None:
                    continue
                embedded = analyser.embed(output, [face])[0]
                if embedded.embedding is None:
                    continue
                distances.append(float(analyser.identity.distance(embedded.embedding[None], source[None])[0]))
                poses.append(float(np.mean(m.pose_error(embedded.landmarks, assignment.face.landmarks))))
            psnr, ssim = m.background_scores(target, output, [a.face.landmarks for a in chosen])
        if not distances:
            return None  # the swapped faces were not found again in the output
        return Scores(float(np.mean(distances)), float(np.mean(poses)), psnr, ssim, len(distances))
