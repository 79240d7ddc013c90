"""The harness end to end on real pairs: the built-in swapper's figures stay within their golden limits,
a deliberately broken swapper is caught, and the report folder holds complete, readable files.

One evaluation (two configurations on ``golden_pairs.csv``: six photo pairs and a 24-frame video) runs
once per module; every test reads from it.

Golden limits. Measured for the mesh swapper on these pairs (faceforge 0.1.0 at commit 32ce552; the table
in ``docs/quality.md`` comes from the same pairs): identity retrieval top-1 7/7; identity distance to the
source mean 0.45 (worst pair 0.54); pose error mean 1.16 deg (worst pair: yaw 2.8, pitch 3.2, roll 2.4);
expression error mean 0.034 IOD (worst 0.053); gaze error mean 0.051 eye widths (worst 0.10, the video);
on the video no failed or reverted frame and landmark jitter 0.98x the target's own (0.75-1.25x across
options and runs: the metric's own noise on 24 frames). The limits were set at an earlier commit (means
0.44 / 1.18 / 0.033 / 0.053, worst pairs 0.52 / 3.1, 4.5, 1.8 / 0.047 / 0.11); over today's figures they
leave 11 % on the identity distances (mean and worst pair), 25 % on the worst roll, 23 % on the worst
expression and 32-97 % elsewhere, so run-to-run noise passes (the figures are deterministic on one
machine) and a real degradation fails: keeping the target's eyes, for one, lifts the mean identity
distance to 0.54 and loses one retrieval.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from faceforge.evaluation.configs import apply_options, parse_configurations
from faceforge.evaluation.report import to_html
from faceforge.evaluation.runner import METRICS, evaluate, read_pairs_csv, report_folder
from faceforge.swappers.mesh import MeshSwapper
from faceforge.swappers.registry import registered_swapper
from faceforge.types import AlignedFace, SwapResult

HERE = Path(__file__).parent
PAIRS_CSV = HERE / "golden_pairs.csv"

GOLDEN = {  # aggregate limits for the built-in mesh swapper on golden_pairs.csv
    "id_top1": (">=", 1.0),
    "id_source": ("<=", 0.50),
    "pose": ("<=", 1.6),
    "expression": ("<=", 0.045),
    "gaze": ("<=", 0.07),
    "bg_ssim": (">=", 0.98),
}
PER_PAIR = {  # limits every single pair must meet
    # dlib's 0.6, less one pair's margin: face_lowkey_c on the turned face_grayscale_d reads 0.606 with the
    # identity shape (tests/pipeline/test_image_swap.py, NEAR_THRESHOLD)
    "id_source": ("<=", 0.62),
    "pose_yaw": ("<=", 4.5),
    "pose_pitch": ("<=", 6.3),
    "pose_roll": ("<=", 3.0),
    "expression": ("<=", 0.065),
    "gaze": ("<=", 0.15),
}
VIDEO = {  # the video pair
    "failed_frames": ("<=", 0.0),
    "reverted_frames": ("<=", 0.0),
    "jitter_ratio": ("<=", 1.5),
    "frames_match": (">=", 1.0),
    "audio_ok": (">=", 1.0),
}


class BrokenSwapper(MeshSwapper):
    """A swapper that swaps nothing: it hands every target crop back unchanged."""

    name = "broken"

    def swap(self, targets: Sequence[AlignedFace], prepared: object) -> list[SwapResult]:
        return [SwapResult(image=t.image.copy()) for t in targets]


@pytest.fixture(scope="module")
def run(tmp_path_factory, analyser):
    folder = tmp_path_factory.mktemp("evaluation") / "report"
    with registered_swapper("broken", lambda options: BrokenSwapper()):
        configurations = parse_configurations(
            ["--swapper", "mesh", "--name", "mesh (default)", "--swapper", "broken"]
        )
        result = evaluate(
            read_pairs_csv(PAIRS_CSV), configurations, folder, analyser=analyser, identity_every=6
        )
    mesh, broken = result.results
    for r in result.results:
        print(f"\n{r.configuration.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in r.aggregate.items()))
        for row in r.rows:
            keys = (
                "id_source",
                "id_top1",
                "pose_yaw",
                "pose_pitch",
                "pose_roll",
                "expression",
                "gaze",
                "fps",
            )
            print(
                f"  {row['name']}: {row['status']} "
                + " ".join(f"{k} {row.get(k, float('nan')):.3f}" for k in keys)
            )
    return result, folder, mesh, broken


def _check(value: float, rule: tuple[str, float]) -> bool:
    op, limit = rule
    return value >= limit if op == ">=" else value <= limit


def test_golden_mesh_swapper_aggregate(run) -> None:
    _, _, mesh, _ = run
    assert mesh.aggregate["pairs_ok"] == 7
    failures = {k: mesh.aggregate[k] for k, rule in GOLDEN.items() if not _check(mesh.aggregate[k], rule)}
    assert not failures, f"quality regressed beyond the golden limits: {failures}"


def test_golden_mesh_swapper_every_pair(run) -> None:
    _, _, mesh, _ = run
    bad = [
        (row["name"], key, row[key])
        for row in mesh.rows
        for key, rule in PER_PAIR.items()
        if not _check(float(row[key]), rule)  # type: ignore[arg-type]
    ]
    assert not bad, bad


def test_golden_mesh_swapper_video(run) -> None:
    _, _, mesh, _ = run
    (video,) = [row for row in mesh.rows if row["kind"] == "video"]
    assert video["frames"] == 24 and video["target_face_frames"] == 24
    bad = {k: video[k] for k, rule in VIDEO.items() if not _check(float(video[k]), rule)}  # type: ignore[arg-type]
    assert not bad, bad
    assert video["id_top1"] == 1.0 and video["bg_psnr"] > 35.0  # x264 at CRF 18 outside the face


def test_broken_swap_scores_retrieval_zero(run) -> None:
    """Output = target: every pair misses identity retrieval and the output keeps the target's identity;
    on the video every sampled frame has reverted to the target, so the pair counts as failed."""
    _, _, _, broken = run
    assert broken.aggregate["id_top1"] == 0.0
    for row in broken.rows:
        assert row["id_top1"] == 0.0, row["name"]
        if row["kind"] == "image":
            assert row["id_target"] < 0.2 < row["id_source"], row["name"]
        else:  # colour transfer still touches the face, but every sampled frame has the target's identity
            assert row["status"] == "failed" and row["reverted_frames"] == 1.0


def test_report_files_are_complete(run) -> None:
    result, folder, _, _ = run
    assert sorted(p.name for p in folder.iterdir()) == [
        "metrics.csv",
        "metrics.json",
        "outputs",
        "report.html",
    ]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".faceforge-")]
    page = (folder / "report.html").read_text(encoding="utf-8")
    for r in result.results:
        assert r.configuration.name in page
    for metric in METRICS:
        assert f"<code>{metric.key}</code>" in page and metric.label in page
    assert page.count("<svg") >= 10 and page.count("data:image/jpeg;base64,") >= 12
    assert 'class="best"' in page
    assert not re.search(r'(src|href)="(https?:)?//|<link|<script', page)  # nothing loaded from outside
    data = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in data["configurations"]] == ["mesh (default)", "broken"]
    assert set(data["metrics"]) == {m.key for m in METRICS}
    assert all(len(c["pairs"]) == 7 for c in data["configurations"])
    lines = (folder / "metrics.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 14 and lines[0].startswith("configuration,pair,name,kind,status")
    for c in data["configurations"]:
        for pair in c["pairs"]:
            if "output" in pair:
                assert (folder / pair["output"]).is_file()


def test_report_renders_without_video_or_with_one_configuration(run) -> None:
    result, _, mesh, _ = run
    from dataclasses import replace

    images_only = replace(mesh, rows=[r for r in mesh.rows if r["kind"] == "image"])
    page = to_html(replace(result, results=[images_only]))
    assert "mesh (default)" in page and 'class="best"' not in page


def test_report_folder_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "report"
    with pytest.raises(KeyboardInterrupt), report_folder(target) as temp:
        (temp / "metrics.json").write_text("{}")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with report_folder(target) as temp:
        (temp / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"
    from faceforge.errors import OutputError

    with pytest.raises(OutputError, match="already exists"), report_folder(target):
        pass
    with report_folder(target, overwrite=True) as temp:
        (temp / "b.txt").write_text("second")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_configurations_parse_in_order_with_types() -> None:
    configs = parse_configurations(
        [
            "--swapper", "mesh",
            "--option", "compose.color=histogram",
            "--option", "compose.keep_eyes=true",
            "--swapper=mesh",
            "--option=video.detect_every=3",
            "--option", "tracking.smoothing.enabled=off",
            "--name", "fast",
        ]
    )  # fmt: skip
    assert [c.name for c in configs] == ["mesh compose.color=histogram compose.keep_eyes=true", "fast"]
    first, second = (c.config for c in configs)
    assert first.compose.color == "histogram" and first.compose.keep_eyes is True
    assert second.compose.color == "shading" and second.video.detect_every == 3
    assert second.tracking.smoothing.enabled is False
    assert [c.name for c in parse_configurations([])] == ["mesh"]
    assert [c.name for c in parse_configurations(["--swapper", "mesh", "--swapper", "mesh"])] == [
        "mesh",
        "mesh #2",
    ]


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["--option", "compose.colour=histogram"], "Unknown option 'compose.colour'"),
        (["--option", "compose.color=sepia"], "compose.color takes one of .*; not 'sepia'"),
        (["--option", "video.crf=high"], "takes a whole number"),
        (["--option", "compose.keep_eyes=maybe"], "takes true or false"),
        (["--option", "selection.mode=everyone"], "takes one of largest"),
        (["--option", "compose=1"], "Unknown option 'compose'"),
        (["--option", "compose.color"], "KEY=VALUE"),
        (["--swapper", "nonesuch"], "Unknown swapper 'nonesuch'"),
        (["--swapper"], "needs a value"),
        (["--frobnicate", "1"], "No such option: --frobnicate"),
    ],
)
def test_configuration_errors_are_one_sentence(tokens: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_configurations(tokens)


def test_neural_swappers_take_their_weights_and_runtime_as_options() -> None:
    (config,) = parse_configurations(
        [
            "--swapper", "ghost",
            "--option", "swappers.ghost.weights=G_unet_2blocks.pth",
            "--option", "swappers.ghost.backend=onnx",
            "--option", "swappers.ghost.precision=bf16",
        ]
    )  # fmt: skip
    neural = config.config.options_of("ghost")
    assert config.config.swapper == "ghost" and neural.weights == "G_unet_2blocks.pth"
    assert (neural.backend, neural.precision, neural.identity_weights) == ("onnx", "bf16", None)
    with pytest.raises(ValueError, match="takes one of auto"):
        parse_configurations(["--swapper", "onnx", "--option", "swappers.onnx.family=faceshifter"])


def test_apply_options_leaves_the_rest_alone() -> None:
    from faceforge.config import SwapConfig

    base = SwapConfig()
    changed = apply_options(base, {"compose.mask_erode": "0.5"})
    assert changed.compose.mask_erode == 0.5
    assert changed.analysis == base.analysis and changed.compose.color == base.compose.color


def test_pairs_csv_errors(tmp_path: Path) -> None:
    from faceforge.errors import InputError

    (tmp_path / "a.csv").write_text("src,dst\nx,y\n")
    with pytest.raises(InputError, match="'source' and 'target' columns"):
        read_pairs_csv(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("source,target\nx.jpg,\n")
    with pytest.raises(InputError, match="line 2"):
        read_pairs_csv(tmp_path / "b.csv")
    with pytest.raises(InputError, match="Cannot read the pairs file"):
        read_pairs_csv(tmp_path / "missing.csv")
    pairs = read_pairs_csv(PAIRS_CSV)
    assert len(pairs) == 7 and all(p.source.is_file() and p.target.is_file() for p in pairs)
    assert np.count_nonzero([p.kind == "video" for p in pairs]) == 1
