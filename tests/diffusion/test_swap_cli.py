"""`faceforge diffusion inspect`: a base that loads, a text-to-image base and a LoRA for another base."""

from pathlib import Path

from test_swap_diffusion import _write_lora
from tiny_models import build_sd15
from typer.testing import CliRunner

from faceforge.cli.diffusion import app


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
