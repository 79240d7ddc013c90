"""`faceforge diffusion inspect`: a base that loads, a text-to-image base and a LoRA for another base."""

from pathlib import Path

import pytest
from test_swap_diffusion import _write_lora
from tiny_models import build_sd15
from typer.testing import CliRunner

from faceforge.cli.diffusion import app


@pytest.mark.slow
def test_inspect_names_the_pipeline_and_refuses_what_does_not_fit(
    tiny_sd15: Path, tiny_sdxl: Path, tmp_path
) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["inspect", str(tiny_sd15)])
    assert ok.exit_code == 0, ok.output
    assert "StableDiffusionInpaintPipeline, native resolution 64 px" in ok.output
    text_to_image = build_sd15(tmp_path / "t2i", in_channels=4)
    refused = runner.invoke(app, ["inspect", str(text_to_image)])
    assert refused.exit_code == 2 and "not an inpainting model" in refused.output
    lora = _write_lora(tiny_sdxl, tmp_path / "xl-lora")
    wrong = runner.invoke(app, ["inspect", str(tiny_sd15), "--lora", str(lora)])
    assert wrong.exit_code == 6 and "does not fit this base model" in wrong.output
    missing = runner.invoke(app, ["inspect", str(tmp_path / "nothing")])
    assert missing.exit_code == 6 and "base model" in missing.output


def test_swap_command_with_lora_and_base(tiny_sd15: Path, testdata, tmp_path) -> None:
    """`faceforge swap SOURCE TARGET --swapper diffusion --lora DIR --base MODEL`: the swapper's options
    are swap flags; a video target without --video-frames is refused before anything is written."""
    from faceforge.cli.main import app as main_app

    lora = _write_lora(tiny_sd15, tmp_path / "lora")
    common = ["--swapper", "diffusion", "--base", str(tiny_sd15), "--resolution", "64", "--steps", "2"]
    source = str(testdata / "face_frontal_a.jpg")
    out = tmp_path / "out.png"
    runner = CliRunner()
    done = runner.invoke(
        main_app,
        [
            "swap",
            source,
            str(testdata / "face_frontal_b.jpg"),
            "-o",
            str(out),
            *common,
            "--lora",
            str(lora),
            "--strength",
            "0.6",
        ],
    )
    assert done.exit_code == 0, done.output
    assert out.is_file() and "1 face(s) swapped" in " ".join(done.output.split())
    video = runner.invoke(
        main_app,
        ["swap", source, str(testdata / "short_noaudio_small.mp4"), "-o", str(tmp_path / "out.mp4"), *common],
    )
    assert video.exit_code == 2 and "--video-frames" in " ".join(video.output.split())
    assert not (tmp_path / "out.mp4").exists()
    wrong = runner.invoke(
        main_app,
        [
            "swap",
            source,
            str(testdata / "face_frontal_b.jpg"),
            "-o",
            str(tmp_path / "x.png"),
            *common,
            "--strength",
            "2",
        ],
    )
    assert wrong.exit_code != 0 and "--strength must be from 0.05 to 1.0" in " ".join(wrong.output.split())
