"""The latent commands take the catalog's user-supplied names (no URL: the user downloads the file and
registers it with ``weights add``): a tiny generator saved in the public ``train.py`` layout of
``550000.pt`` is added as ``stylegan2-ffhq-256`` and then used by name by ``faceforge latent invert``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from faceforge.cli.main import app
from faceforge.latent.files import load_latent
from faceforge.nets.stylegan2 import GeneratorConfig, StyleGAN2Generator

SMALL = GeneratorConfig(size=64, style_dim=32, n_mlp=2, channels=(32, 32, 16, 16, 8))
runner = CliRunner()


def _run(*args: str | Path):
    return runner.invoke(app, list(map(str, args)), catch_exceptions=False)


def _said(result) -> str:
    return " ".join(result.output.split())


def _train_py_checkpoint(path: Path) -> None:
    """rosinality's train.py layout: g, d, g_ema (without the noise maps, as in the public 550000.pt),
    g_optim, d_optim and args; no latent_avg."""
    torch.manual_seed(0)
    generator = StyleGAN2Generator(SMALL)
    state = {k: v for k, v in generator.state_dict().items() if not k.startswith("noises.")}
    discriminator = torch.nn.Conv2d(3, 4, 3)
    torch.save(
        {
            "g": state,
            "d": discriminator.state_dict(),
            "g_ema": state,
            "g_optim": torch.optim.Adam(generator.parameters()).state_dict(),
            "d_optim": torch.optim.Adam(discriminator.parameters()).state_dict(),
            "args": argparse.Namespace(size=64, channel_multiplier=2),
        },
        path,
    )


def test_a_user_supplied_generator_is_added_then_used_by_name(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(cache))
    photo = testdata / "face_frontal_a.jpg"
    out = tmp_path / "latents"

    fetched = _run("weights", "fetch", "stylegan2-ffhq-256")
    assert fetched.exit_code == 6
    assert _said(fetched).startswith(
        "error: faceforge cannot download 'stylegan2-ffhq-256' itself: get 550000.pt from the 256 px FFHQ "
        "checkpoint link in the rosinality/stylegan2-pytorch README, then run "
        "`faceforge weights add FILE --as stylegan2-ffhq-256`."
    )
    before = _run("latent", "invert", photo, "-g", "stylegan2-ffhq-256", "--steps", "1", "-o", out)
    assert before.exit_code == 6
    assert "are not in the cache" in _said(before) and "get 550000.pt from" in _said(before)
    assert not out.exists()

    download = tmp_path / "Downloads" / "550000.pt"
    download.parent.mkdir()
    _train_py_checkpoint(download)
    added = _run("weights", "add", download, "--as", "stylegan2-ffhq-256")
    assert added.exit_code == 0, added.output
    assert "recorded" in _said(added)  # no sha256 is published: the added file's is recorded
    assert (cache / "stylegan2-ffhq-256" / "550000.pt").is_file()

    result = _run("latent", "invert", photo, "-g", "stylegan2-ffhq-256", "--steps", "2", "-o", out)
    assert result.exit_code == 0, result.output
    assert "lack 9 fixed noise maps" in _said(result)
    wplus, noises, meta = load_latent(out / "face_frontal_a.safetensors")
    assert wplus.shape == (SMALL.n_latent, SMALL.style_dim) and len(noises) == SMALL.num_layers
    assert float(meta["mse_optimised"]) > 0

    again = _run("weights", "fetch", "stylegan2-ffhq-256")
    assert again.exit_code == 0 and "already cached" in _said(again)
    # Changed after adding: refused at use, and the fix named is adding it again (it cannot be fetched).
    (cache / "stylegan2-ffhq-256" / "550000.pt").write_bytes(download.read_bytes()[:-1] + b"x")
    changed = _run("latent", "invert", photo, "-g", "stylegan2-ffhq-256", "-o", tmp_path / "again")
    assert changed.exit_code == 6
    assert "run `faceforge weights add FILE --as stylegan2-ffhq-256` again" in _said(changed)
    assert not (tmp_path / "again").exists()


@pytest.mark.parametrize(
    ("flag", "name", "sentence"),
    [
        ("-g", "inswapper-128", "are of the kind onnx-swapper, not a StyleGAN2 generator"),
        ("--e4e", "stylegan2-ffhq-1024", "are of the kind stylegan2-generator, not an e4e encoder"),
    ],
)
def test_a_catalog_name_of_another_kind_is_one_sentence(
    flag: str, name: str, sentence: str, testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    result = _run("latent", "invert", testdata / "face_frontal_a.jpg", flag, name, "-o", out)
    assert result.exit_code == 6
    assert f"error: The weights '{name}' {sentence}." in _said(result)
    assert not out.exists()
