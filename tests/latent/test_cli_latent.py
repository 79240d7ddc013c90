"""``faceforge latent`` end to end on a small random generator (and a small e4e) saved in the public
checkpoint layouts: outputs, tags and scores, and bad input as one sentence with its exit code and
nothing written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from faceforge.cli.main import app
from faceforge.latent.files import load_latent
from faceforge.media.images import read_image
from faceforge.media.provenance import read_tag
from faceforge.nets.e4e import E4EConfig, E4EEncoder
from faceforge.nets.iresnet import IResNet
from faceforge.nets.stylegan2 import GeneratorConfig, StyleGAN2Generator

SMALL = GeneratorConfig(size=64, style_dim=32, n_mlp=2, channels=(32, 32, 16, 16, 8))
SMALL_E4E = E4EConfig(input_size=64, n_styles=10, style_dim=32, units=(1, 1, 1, 1), widths=(16, 24, 48, 32))
runner = CliRunner()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("latent-weights")
    torch.manual_seed(0)
    generator = StyleGAN2Generator(SMALL)
    g_ema = {k: v for k, v in generator.state_dict().items() if not k.startswith("noises.")}
    torch.save({"g_ema": g_ema, "args": argparse.Namespace(size=64)}, folder / "small.pt")
    encoder = E4EEncoder(SMALL_E4E)
    state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
    state |= {f"decoder.{k}": v for k, v in generator.state_dict().items()}
    latent_avg = generator.mean_latent(256).expand(SMALL.n_latent, -1).clone()
    torch.save(
        {"state_dict": state, "opts": {"stylegan_size": 64}, "latent_avg": latent_avg}, folder / "e4e.pt"
    )
    broken = dict(g_ema)
    del broken["to_rgbs.1.conv.modulation.weight"]
    torch.save({"g_ema": broken}, folder / "broken.pt")
    torch.save(IResNet((1, 1, 1, 1), 8, 32).state_dict(), folder / "arcface.pth")
    return {
        "generator": folder / "small.pt",
        "e4e": folder / "e4e.pt",
        "broken": folder / "broken.pt",
        "arcface": folder / "arcface.pth",
    }


def _run(*args: str | Path):
    return runner.invoke(app, ["latent", *map(str, args)], catch_exceptions=False)


@pytest.mark.slow
def test_invert_mix_and_swap(checkpoints, testdata: Path, tmp_path: Path) -> None:
    photos = [testdata / "face_frontal_a.jpg", testdata / "face_lookup_g.jpg"]
    out = tmp_path / "latents"
    result = _run(
        "invert", *photos, "--e4e", checkpoints["e4e"], "--method", "both", "--steps", "3", "-o", out
    )
    assert result.exit_code == 0, result.output
    wplus, noises, meta = load_latent(out / "face_frontal_a.safetensors")
    assert wplus.shape == (SMALL.n_latent, SMALL.style_dim) and len(noises) == SMALL.num_layers
    assert meta["method"] == "both" and float(meta["mse_optimised"]) > 0 and "mse_e4e" in meta
    sheet = read_image(out / "sheet.png")
    assert sheet.shape == (2 * 64, 3 * 64, 3)  # rows: photos; columns: original | e4e | optimised
    assert read_tag(out / "sheet.png")["synthetic"] is True

    grid = tmp_path / "grid.png"
    latents = [out / "face_frontal_a.safetensors", out / "face_lookup_g.safetensors"]
    result = _run(
        "mix",
        *latents,
        "-r",
        latents[1],
        "-g",
        checkpoints["generator"],
        "-o",
        grid,
        "--recipe",
        "expression",
    )
    assert result.exit_code == 0, result.output
    assert "rows 3-10, psi 0.5" in result.output
    assert read_image(grid).shape == (3 * 64, 2 * 64, 3)

    swapped = tmp_path / "swap.png"
    target = testdata / "face_frontal_a.jpg"
    result = _run(
        "swap", testdata / "face_darkskin_i.jpg", target, "-g", checkpoints["generator"], "-o", swapped,
        "--steps", "4", "--invert-steps", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "identity distance to the source" in result.output
    assert "lack 9 fixed noise maps" in result.output
    tag = read_tag(swapped)
    assert tag["synthetic"] is True and tag["swapper"] == "latent"
    before, after = read_image(target), read_image(swapped)
    changed = np.any(before != after, axis=2)
    assert 0 < changed.mean() < 0.5
    rows, cols = np.nonzero(changed)
    # The change stays around the face: none in the photo's outer border.
    assert rows.min() > 20 and cols.min() > 20 and cols.max() < before.shape[1] - 20


@pytest.mark.slow
def test_swap_grid_with_an_arcface_identity(checkpoints, testdata: Path, tmp_path: Path) -> None:
    photos = [testdata / "face_frontal_a.jpg", testdata / "face_darkskin_i.jpg"]
    grid = tmp_path / "grid.png"
    result = _run(
        "swap-grid", *photos, "-g", checkpoints["generator"], "-o", grid,
        "--steps", "2", "--invert-steps", "2",
        "--identity-net", "arcface", "--identity-weights", checkpoints["arcface"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_image(grid).shape == (2 * 64, 2 * 64, 3)
    assert read_tag(grid)["faces_swapped"] == 2
    assert result.output.count("identity distances") == 2
    result = _run(
        "swap-grid", *photos, "-g", checkpoints["generator"], "-o", grid, "-y", "--identity-net", "vgg"
    )
    assert result.exit_code == 2 and "--identity-net takes dlib or arcface" in result.output


def test_align_writes_crops_and_transforms(testdata: Path, tmp_path: Path) -> None:
    result = _run(
        "align", testdata / "group_3faces.jpg", "--face-index", "1", "--size", "256", "-o", tmp_path
    )
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "group_3faces.png").shape == (256, 256, 3)
    record = json.loads((tmp_path / "group_3faces.json").read_text())
    assert np.array(record["matrix"]).shape == (2, 3) and record["size"] == 256


@pytest.mark.parametrize(
    ("case", "code", "sentence"),
    [
        ("no-weights", 2, "Give the StyleGAN2 weights with --generator"),
        ("missing-file", 6, "does not exist"),
        ("mismatched", 6, "do not match its layout: they lack 'to_rgbs.1.conv.modulation.weight'"),
        ("no-face", 4, "No face was found in blank.png."),
        ("face-index", 4, "has 3 faces; --face-index 5 is not one of 0-2."),
        ("method", 2, "--method e4e needs the e4e weights"),
        ("steps", 2, "Option steps must be at least 1, not 0."),
        ("tiny", 2, "The face is too small for FFHQ alignment: its square is 33 px in the photo"),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(
    case: str, code: int, sentence: str, checkpoints, testdata: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    photo = testdata / "face_frontal_a.jpg"
    generator = ["-g", checkpoints["generator"]]
    if case == "no-face":
        blank = tmp_path / "blank.png"
        from faceforge.media.images import write_image

        write_image(blank, np.full((300, 300, 3), 90, dtype=np.uint8))
        photo = blank
    if case == "tiny":
        from PIL import Image

        photo = tmp_path / "tiny.png"
        Image.open(testdata / "face_frontal_a.jpg").resize((60, 90)).save(photo)
    args = {
        "no-weights": [photo],
        "missing-file": [photo, "-g", tmp_path / "absent.pt"],
        "mismatched": [photo, "-g", checkpoints["broken"]],
        "no-face": [photo, *generator],
        "face-index": [testdata / "group_3faces.jpg", *generator, "--face-index", "5"],
        "method": [photo, *generator, "--method", "e4e"],
        "steps": [photo, *generator, "--steps", "0"],
        "tiny": [photo, *generator],
    }[case]
    result = _run("invert", *args, *([] if case == "steps" else ["--steps", "1"]), "-o", out)
    assert result.exit_code == code, result.output
    assert sentence in " ".join(result.output.split())
    assert not out.exists() or not any(out.iterdir())


def test_existing_output_and_foreign_latent_are_refused(checkpoints, testdata: Path, tmp_path: Path) -> None:
    swapped = tmp_path / "swap.png"
    swapped.write_bytes(b"kept")
    target = testdata / "face_frontal_a.jpg"
    result = _run("swap", target, target, "-g", checkpoints["generator"], "-o", swapped)
    assert result.exit_code == 5 and "already exists" in result.output
    assert swapped.read_bytes() == b"kept"
    foreign = tmp_path / "foreign.safetensors"
    from faceforge.latent.files import save_latent

    save_latent(foreign, torch.zeros(14, 512), {"photo": "x"})
    result = _run("mix", foreign, "-r", foreign, "-g", checkpoints["generator"], "-o", tmp_path / "grid.png")
    assert result.exit_code == 2
    assert "it was made with another generator" in " ".join(result.output.split())
    assert not (tmp_path / "grid.png").exists()
