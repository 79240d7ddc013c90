"""The Facesets tab: extract faces into a faceset with progress, group them by person, and keep or
remove whole groups by clicking their thumbnails.

It calls the same functions as ``faceforge faces extract / group / keep / remove``
(:mod:`faceforge.facesets`), so the faceset's index, writer lock and file moves behave exactly as on
the command line. Extraction runs in a background thread; the page polls its progress.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from faceforge.errors import FaceforgeError, InputError
from faceforge.facesets.curate import group_faces, remove_faces, select_faces
from faceforge.facesets.extract import extract_faceset
from faceforge.facesets.store import FacesetStore
from faceforge.media.images import read_image

REFRESH_S = 1.0
ERRORS = (FaceforgeError, ValueError)


@dataclass(frozen=True, slots=True)
class GroupCard:
    number: int  # as `faceforge faces keep --group N` names it
    size: int
    thumbnail: np.ndarray


def group_cards(faceset: Path) -> list[GroupCard]:
    """One card per group of the faceset: its number, its size and its first face's crop."""
    with FacesetStore.open(faceset) as store:
        names = store.groups()
        members: dict[int, list] = {}
        for face in store.faces():
            if face.group_id is not None:
                members.setdefault(face.group_id, []).append(face)
        cards = []
        for group_id, name in sorted(names.items(), key=lambda item: item[1]):
            faces = members.get(group_id, [])
            if faces:
                number = int(name.rsplit("_", 1)[-1])
                cards.append(GroupCard(number, len(faces), read_image(store.path_of(faces[0]))))
        return cards


@dataclass
class Extraction:
    """One extraction running in the background, and how far it got."""

    faceset: Path
    done: int = 0
    total: int = 0
    message: str = ""
    finished: bool = False


class FacesetsTab:
    def __init__(self) -> None:
        self._extractions: dict[Path, Extraction] = {}
        self._lock = threading.Lock()

    def build(self) -> None:
        gr.Markdown(
            "Extract faces from videos, photos or folders on this machine into a faceset, group them by "
            "person, then keep or remove groups (as `faceforge faces extract / group / keep / remove`)."
        )
        with gr.Row():
            inputs = gr.Textbox(label="inputs (one path per line)", lines=3, elem_id="faceset-inputs")
            faceset = gr.Textbox(label="faceset folder", elem_id="faceset-path")
        with gr.Row():
            extract = gr.Button("Extract", variant="primary", elem_id="faceset-extract")
            group = gr.Button("Group by person", elem_id="faceset-group")
        progress = gr.HTML("", elem_id="faceset-progress")
        status = gr.Markdown("", elem_id="faceset-status")
        chosen = gr.State([])
        gallery = gr.Gallery(
            label="Groups (click to choose)",
            columns=8,
            height=220,
            allow_preview=False,
            elem_id="faceset-groups",
        )
        selection = gr.Markdown("No group chosen.", elem_id="faceset-selection")
        with gr.Row():
            keep = gr.Button("Keep only the chosen groups", elem_id="faceset-keep")
            remove = gr.Button("Remove the chosen groups", elem_id="faceset-remove")
        extract.click(self.on_extract, [inputs, faceset], status)
        group.click(self.on_group, faceset, [status, gallery, chosen, selection])
        gallery.select(self.on_choose, chosen, [chosen, selection])
        keep.click(self.on_keep, [faceset, chosen], [status, gallery, chosen, selection])
        remove.click(self.on_remove, [faceset, chosen], [status, gallery, chosen, selection])
        gr.Timer(REFRESH_S).tick(self.on_refresh, faceset, [progress, status])

    @staticmethod
    def _folder(faceset: str) -> Path:
        if not faceset.strip():
            raise InputError("Give the faceset folder.")
        return Path(faceset.strip()).expanduser().resolve()

    def on_extract(self, inputs: str, faceset: str) -> str:
        try:
            folder = self._folder(faceset)
            paths = [Path(line.strip()).expanduser() for line in inputs.splitlines() if line.strip()]
            if not paths:
                raise InputError("Give at least one input: a video, a photo or a folder.")
            with self._lock:
                running = self._extractions.get(folder)
                if running is not None and not running.finished:
                    raise InputError(f"{folder} is already being extracted into.")
                job = self._extractions[folder] = Extraction(folder)
        except ERRORS as exc:
            return f"**Error:** {exc}"

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        def run() -> None:
            try:
                report = extract_faceset(paths, folder, progress=progress)
                failed = f", {len(report.failed)} input(s) failed" if report.failed else ""
                job.message = (
                    f"Extracted {report.faces_added} face(s) from {report.sources_done} source(s){failed}."
                )
            except ERRORS as exc:
                job.message = f"**Error:** {exc}"
            finally:
                job.finished = True

        threading.Thread(target=run, daemon=True, name="faceforge-ui-extract").start()
        return f"Extracting into {folder}…"

    def on_refresh(self, faceset: str) -> tuple:
        if not faceset.strip():
            return gr.update(), gr.update()
        with self._lock:
            job = self._extractions.get(Path(faceset.strip()).expanduser().resolve())
        if job is None:
            return gr.update(), gr.update()
        percent = 100 if job.finished else round(100 * job.done / job.total) if job.total else 0
        bar = f'<progress max="100" value="{percent}"></progress> {job.done} of {job.total or "?"}'
        return bar, (job.message if job.finished else gr.update())

    def _shown(self, folder: Path, said: str) -> tuple:
        cards = group_cards(folder)
        gallery = [(card.thumbnail, f"group {card.number}: {card.size} faces") for card in cards]
        return said, gallery, [], "No group chosen."

    def on_group(self, faceset: str) -> tuple:
        try:
            folder = self._folder(faceset)
            with FacesetStore.open(folder, write=True) as store:
                report = group_faces(store)
            return self._shown(folder, f"{len(report.groups)} group(s): sizes {report.groups}.")
        except ERRORS as exc:
            return f"**Error:** {exc}", gr.update(), gr.update(), gr.update()

    def on_choose(self, chosen: list[int], event: gr.SelectData) -> tuple:
        number = int(str(event.value["caption"]).split(":")[0].split()[-1])
        chosen = sorted(set(chosen) ^ {number})
        said = "Chosen: " + ", ".join(f"group {n}" for n in chosen) if chosen else "No group chosen."
        return chosen, said

    def _curate(self, faceset: str, chosen: list[int], keep: bool) -> tuple:
        try:
            if not chosen:
                raise InputError("Click the groups to keep or remove first.")
            folder = self._folder(faceset)
            with FacesetStore.open(folder, write=True) as store:
                picked = select_faces(store, chosen)
                if keep:
                    kept = {face.id for face in picked}
                    picked = [face for face in store.faces() if face.id not in kept]
                count = remove_faces(store, picked)
            return self._shown(folder, f"Removed {count} face(s) (moved to the faceset's removed/ folder).")
        except ERRORS as exc:
            return f"**Error:** {exc}", gr.update(), gr.update(), gr.update()

    def on_keep(self, faceset: str, chosen: list[int]) -> tuple:
        return self._curate(faceset, chosen, keep=True)

    def on_remove(self, faceset: str, chosen: list[int]) -> tuple:
        return self._curate(faceset, chosen, keep=False)
