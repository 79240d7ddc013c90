"""Planning a batch (files, folders, CSV manifests, segments) and its job record, without Ray."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from faceforge.config import SwapConfig
from faceforge.errors import InputError, NoFaceError, OutputError
from faceforge.media.images import write_image
from faceforge.scale import CutKind
from faceforge.scale.batch import batch_swap
from faceforge.scale.jobs import JobRecord, read_tasks
from faceforge.scale.plan import PARTS_DIR, expand, swap_plan, task_key
from faceforge.scale.runner import Cluster
from faceforge.scale.workers import SwapSpec


def test_inputs_from_files_folders_and_a_manifest(testdata: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shots" / "day1"
    folder.mkdir(parents=True)
    shutil.copy(testdata / "face_frontal_b.jpg", folder / "b.jpg")
    (folder / "notes.txt").write_text("not media")
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"input,output\n{testdata / 'face_lowkey_c.jpg'},renamed/c.jpg\nshots/day1/b.jpg,\n")
    items = expand([tmp_path / "shots", testdata / "face_frontal_a.jpg"])
    assert [(i.input.name, str(i.relative)) for i in items] == [
        ("b.jpg", "day1/b.jpg"),
        ("face_frontal_a.jpg", "face_frontal_a.jpg"),
    ]
    rows = expand([manifest])
    assert [(i.input.name, str(i.relative)) for i in rows] == [
        ("face_lowkey_c.jpg", "renamed/c.jpg"),
        ("b.jpg", "b.jpg"),
    ]
    assert expand([manifest, folder]) == rows  # the same file named twice runs once
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(testdata / "face_grayscale_d.jpg", other / "b.jpg")
    with pytest.raises(InputError, match=r"would both be written to b\.jpg"):
        expand([manifest, other])
    with pytest.raises(InputError, match=r"neither an image, a video, a folder nor a \.csv"):
        expand([folder / "notes.txt"])
    (tmp_path / "bad.csv").write_text("path\nx.jpg\n")
    with pytest.raises(InputError, match="needs a header row with an 'input' column"):
        expand([tmp_path / "bad.csv"])


@pytest.mark.slow
def test_a_long_video_becomes_segment_tasks_and_one_join(testdata: Path, tmp_path: Path) -> None:
    video = testdata / "talking_audio.mp4"
    plan = swap_plan(expand([video]), tmp_path, segment_seconds=0.5)  # scene cuts at frames 22 and 93
    assert [t.action for t in plan.tasks] == ["segment"] * 3
    assert [t.units for t in plan.tasks] == [22, 71, 196] and plan.units == 289
    (join,) = plan.joins
    assert join.output == tmp_path / "talking_audio.mp4" and join.key == task_key(video)
    assert all(part.parent == tmp_path / PARTS_DIR for part in join.parts)
    assert [t.action for t in swap_plan(expand([video]), tmp_path, 0).tasks] == ["video"]


def test_a_rerun_with_other_settings_is_refused(tmp_path: Path) -> None:
    with JobRecord(tmp_path / "job.sqlite", {"action": "swap", "settings": "a"}) as record:
        record.mark_done("x", "host:1", 0.5, {"frames": 3})
        record.mark_failed("y", "No face to swap was found in y.")
    with pytest.raises(InputError, match=r"other settings \(settings\)"):
        JobRecord(tmp_path / "job.sqlite", {"action": "swap", "settings": "b"})
    rows = {row.key: row for row in read_tasks(tmp_path / "job.sqlite")}
    assert rows["x"].state == "done" and rows["x"].detail == {"frames": 3} and rows["x"].worker == "host:1"
    assert rows["y"].error == "No face to swap was found in y."


def test_the_output_may_not_be_inside_an_input_folder(testdata: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(testdata / "face_frontal_b.jpg", folder / "b.jpg")
    spec = SwapSpec([[testdata / "face_frontal_a.jpg"]], SwapConfig())
    with pytest.raises(InputError, match="inside the input folder"):
        batch_swap([folder], folder / "out", spec, Cluster(workers=0))
    with pytest.raises(OutputError, match="is the input"):
        batch_swap([folder], folder, spec, Cluster(workers=0))
    assert sorted(p.name for p in folder.iterdir()) == ["b.jpg"]  # nothing written


def test_a_source_without_a_face_stops_the_job_with_its_sentence(testdata: Path, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    write_image(blank, np.full((64, 64, 3), 128, np.uint8))
    spec = SwapSpec([[blank]], SwapConfig())
    with pytest.raises(NoFaceError, match=r"blank\.png"):
        batch_swap([testdata / "face_frontal_b.jpg"], tmp_path / "out", spec, Cluster(workers=0))
    assert not (tmp_path / "out" / "face_frontal_b.jpg").exists()


def test_an_address_nothing_listens_on_is_refused_before_anything_is_written(
    testdata: Path, tmp_path: Path
) -> None:
    spec = SwapSpec([[testdata / "face_frontal_a.jpg"]], SwapConfig())
    cluster = Cluster(workers=1, address="127.0.0.1:1")  # Ray alone would retry it for minutes
    with pytest.raises(InputError, match="Cannot connect to the Ray cluster"):
        batch_swap([testdata / "face_frontal_b.jpg"], tmp_path / "out", spec, cluster)
    assert not (tmp_path / "out").exists()


def test_a_rerun_with_another_option_is_refused_naming_it(testdata: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    config = SwapConfig()
    source = [[testdata / "face_frontal_a.jpg"]]
    first = batch_swap(
        [testdata / "face_frontal_b.jpg"], tmp_path / "out", SwapSpec(source, config), Cluster(0), 1.0
    )
    assert first.complete
    other = replace(config, video=replace(config.video, crf=30))
    with pytest.raises(InputError, match=r"other settings \(swap\.video\.crf\)"):
        batch_swap(
            [testdata / "face_frontal_b.jpg"], tmp_path / "out", SwapSpec(source, other), Cluster(0), 1.0
        )
    with pytest.raises(InputError, match=r"other settings \(cuts\)"):
        batch_swap(
            [testdata / "face_frontal_b.jpg"],
            tmp_path / "out",
            SwapSpec(source, config),
            Cluster(0),
            1.0,
            cuts=CutKind.keyframes,
        )
