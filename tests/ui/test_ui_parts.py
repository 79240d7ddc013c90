"""The UI's parts without a browser: controls generated from the declarations, the job table and its
runner (real SQLite, a real thread), and the face choice's --map semantics."""

from __future__ import annotations

import threading
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from faceforge.config import SwapConfig, swap_declarations, swap_settings
from faceforge.errors import InputError, OptionError
from faceforge.media.images import read_image
from faceforge.options import plain
from faceforge.pipeline.session import SwapSession
from faceforge.ui.compare_tab import parse_option_set
from faceforge.ui.controls import SWAPPER_KEY, build_controls, config_from_settings, owning_swapper
from faceforge.ui.faces import FaceChoice, TargetFace, references_for
from faceforge.ui.jobs import DONE, FAILED, QUEUED, RUNNING, JobRequest, JobRunner, JobStore


def test_every_declared_option_has_one_control_of_its_kind():
    with gr.Blocks():
        controls = build_controls()
    declared = [o for o in swap_declarations() if o.key != SWAPPER_KEY]
    assert [o.key for o in controls.options] == [o.key for o in declared]
    assert "swappers.mesh.max_yaw" in [o.key for o in controls.options]
    for opt, control in zip(controls.options, controls.components, strict=True):
        assert control.label == opt.key and control.info == opt.spec.help
        if opt.choices() is not None:
            assert isinstance(control, gr.CheckboxGroup | gr.Dropdown)
            listed = [c[1] if isinstance(c, tuple) else c for c in control.choices]
            assert listed == list(opt.choices())
        elif opt.value_type is bool:
            assert isinstance(control, gr.Checkbox)
        elif opt.value_type in (int, float):
            assert isinstance(control, gr.Slider | gr.Number)
    defaults = [controls.swapper.value, *(c.value for c in controls.components)]
    assert swap_settings(controls.config(defaults)) == swap_settings(SwapConfig())
    settings = controls.settings(defaults)
    assert swap_settings(config_from_settings(settings)) == swap_settings(SwapConfig())
    chosen = SwapConfig().swapper
    assert {k: v for k, v in settings.items() if k != SWAPPER_KEY} == {
        k: plain(v)
        for k, v in swap_settings(SwapConfig()).items()
        if k != SWAPPER_KEY and owning_swapper(k) in (None, chosen)
    }
    assert set(controls.swapper_groups) == {owning_swapper(o.key) for o in declared} - {None}
    assert controls.swapper_groups[chosen].visible
    assert not any(group.visible for name, group in controls.swapper_groups.items() if name != chosen)


def test_control_values_are_checked_like_config_file_values():
    with gr.Blocks():
        controls = build_controls()
    values = [controls.swapper.value, *(c.value for c in controls.components)]
    crf = [o.key for o in controls.options].index("video.crf")
    values[1 + crf] = 23.0  # a slider sends a float for an int option
    assert controls.config(values).video.crf == 23
    values[1 + crf] = 999
    with pytest.raises(OptionError, match=r"video\.crf"):
        controls.config(values)


def test_a_swapper_option_control_reaches_that_swappers_swap(testdata: Path):
    """swappers.mesh.max_yaw set to 0 in its control declines the photo's face in a real mesh swap; the
    default swaps it. Another swapper's controls take no part in a mesh run, even with a bad value."""
    with gr.Blocks():
        controls = build_controls()
    keys = [o.key for o in controls.options]
    values = [controls.swapper.value, *(c.value for c in controls.components)]
    assert values[0] == "mesh"
    values[1 + keys.index("swappers.mesh.max_yaw")] = 0.0
    other = next(i for i, k in enumerate(keys) if owning_swapper(k) not in (None, "mesh"))
    values[1 + other] = object()  # no control sends this: it must never be read
    config = controls.config(values)
    assert config.options_of("mesh").max_yaw == 0.0
    assert controls.settings(values)["swappers.mesh.max_yaw"] == 0.0
    assert config_from_settings(controls.settings(values)).options_of("mesh").max_yaw == 0.0
    source = testdata / "face_frontal_a.jpg"
    target = read_image(testdata / "face_frontal_b.jpg")
    with SwapSession([[source]], config) as session:
        declined = session.render_image(target)
    assert (declined.faces_swapped, declined.faces_declined) == (0, 1)
    assert np.array_equal(declined.image, target)
    with SwapSession([[source]], parse_option_set("swappers.mesh.max_yaw=45", config)) as session:
        swapped = session.render_image(target)
    assert swapped.faces_swapped == 1 and not np.array_equal(swapped.image, target)


def _request(name: str) -> JobRequest:
    return JobRequest([[f"{name}.jpg"]], f"{name}-target.jpg", None, {"video.crf": 20})


def test_jobs_run_one_after_another_and_a_failure_is_its_sentence(tmp_path: Path):
    store = JobStore(tmp_path / "jobs.sqlite")
    order: list[str] = []
    finished = threading.Semaphore(0)
    concurrent = threading.Lock()

    def run(request: JobRequest, output: Path, progress) -> str:
        assert concurrent.acquire(blocking=False), "two jobs ran at once"
        try:
            order.append(request.target)
            progress(1, 2)
            if request.target.startswith("bad"):
                raise InputError("The target bad-target.jpg is not readable.")
            output.write_text("result")
            return "1 face(s) swapped."
        finally:
            concurrent.release()
            finished.release()

    runner = JobRunner(store, run)
    ids = [runner.submit(_request(n), tmp_path / f"{n}.out") for n in ("one", "bad", "three")]
    assert [j.state for j in store.jobs()] == [QUEUED] * 3
    runner.start()
    for _ in ids:
        assert finished.acquire(timeout=30)
    runner.stop()
    assert order == ["one-target.jpg", "bad-target.jpg", "three-target.jpg"]
    jobs = {j.id: j for j in store.jobs()}
    assert jobs[ids[0]].state == DONE and jobs[ids[0]].fraction == 1.0 and jobs[ids[0]].output.exists()
    assert jobs[ids[1]].state == FAILED
    assert jobs[ids[1]].message == "The target bad-target.jpg is not readable."
    assert jobs[ids[2]].state == DONE and jobs[ids[2]].request == _request("three")


def test_a_job_left_running_is_queued_again_at_the_next_start(tmp_path: Path):
    store = JobStore(tmp_path / "jobs.sqlite")
    first = store.add(_request("one"), tmp_path / "one.out")
    assert store.claim_next().id == first
    assert store.get(first).state == RUNNING  # the UI stopped here
    reopened = JobStore(tmp_path / "jobs.sqlite")
    assert reopened.requeue_interrupted() == 1
    assert reopened.get(first).state == QUEUED


def _face(x: float) -> TargetFace:
    crop = np.full((40, 40, 3), int(x) % 256, np.uint8)
    return TargetFace((x, 0.0, x + 40, 40.0), crop, crop)


def test_face_clicks_are_map_pairs_of_source_and_reference():
    faces = [_face(0), _face(100), _face(200)]
    sources = [Path("ana.jpg"), Path("ben.jpg")]
    with pytest.raises(InputError, match="click the target face"):
        references_for(FaceChoice(), faces, sources)
    people, references = references_for(FaceChoice(), faces, sources[:1])
    assert people == [[Path("ana.jpg")]] and references is None  # no click: the largest face
    choice = FaceChoice().toggled(2, 0).toggled(0, 1)
    assert choice.describe(2) == "Swapping face 1 ← source 2, face 3 ← source 1."
    people, references = references_for(choice, faces, sources)
    assert people == [[Path("ben.jpg")], [Path("ana.jpg")]]
    assert references is not None and references[0] is faces[0].crop and references[1] is faces[2].crop
    assert choice.toggled(2, 0).assigned == ((0, 1),)  # a second click on the same pair unselects it


def test_uploads_are_checked_copied_and_removed_with_their_session(testdata: Path, tmp_path: Path):
    from faceforge.errors import UnsupportedFormatError
    from faceforge.ui.uploads import UploadLimits, accept_upload, remove_session_folder, session_folder

    root = tmp_path / "sessions"
    folder = session_folder(root, "abc/../def")  # a session hash never names a path outside the root
    assert folder.parent == root
    photo = testdata / "face_frontal_b.jpg"
    copy = accept_upload(photo, folder, UploadLimits())
    assert copy.parent == folder and copy.read_bytes() == photo.read_bytes()
    with pytest.raises(InputError, match="uploads are limited to 0 MB"):
        accept_upload(photo, folder, UploadLimits(max_bytes=1000))
    with pytest.raises(UnsupportedFormatError, match="is not an image faceforge reads"):
        accept_upload(testdata / "talking_audio_3s.mp4", folder, UploadLimits(), videos=False)
    assert sorted(folder.iterdir()) == [copy], "a refused upload leaves nothing behind"
    remove_session_folder(root, "abc/../def")
    assert not folder.exists()
