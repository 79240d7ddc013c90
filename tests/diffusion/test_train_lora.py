"""`faceforge diffusion train-lora` with the tiny SD 1.5 stack (random weights, 64 px, CPU): crops with
level eyes on real photos, a few steps that save and resume exactly, the LoRA loading into the swap's
pipeline and changing its output, the best checkpoint following the identity scores, and one sentence
for each bad input."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from faceforge.cli.diffusion import app
from faceforge.diffusion.base_models import Runtime, load_inpaint_pipeline, load_lora
from faceforge.diffusion.faces_data import aligned_crop, eye_roll, one_face, training_crops
from faceforge.diffusion.lora_checkpoints import LORA_FILE, STATE_FILE, saved_checkpoints
from faceforge.diffusion.lora_options import LoraTrainOptions
from faceforge.diffusion.lora_report import CheckpointScore, IdentityScorer, choose_best
from faceforge.diffusion.lora_run import train_lora
from faceforge.errors import InputError, NoFaceError, OutputError
from faceforge.media.atomic import PAUSE_ENV
from faceforge.media.images import read_image, write_image

FACEFORGE = Path(sys.executable).parent / "faceforge"

PHOTOS = ("face_frontal_a.jpg", "face_roll_h.png")


def _options(base: Path, **changes) -> LoraTrainOptions:
    values = {"base": str(base), "resolution": 64, "device": "cpu", "lr": 1e-3, "validation_images": 0}
    return LoraTrainOptions(**{**values, **changes})


@pytest.mark.parametrize("name", ["face_roll_h.png", "face_lookup_g.jpg", "face_frontal_a.jpg"])
def test_crops_have_level_eyes_and_the_face_at_half_the_side(analyser, photo, testdata, name) -> None:
    image = photo(name)
    face = one_face(analyser, testdata / name, image)
    crop = aligned_crop(image, face, 256, margin=1.0)
    found = analyser.faces(crop)
    assert len(found) == 1
    # The eye line, measured again on the crop, is level within 2 degrees (face_roll_h starts at about
    # -59 by the same measure), and the face fills about half the crop (margin as much again).
    assert abs(eye_roll(found[0])) < 2.0, (eye_roll(face), eye_roll(found[0]))
    assert 0.4 < found[0].size / 256 < 0.6


def test_photos_without_exactly_one_face_are_skipped_then_refused(
    analyser, testdata, tmp_path, caplog
) -> None:
    blank = tmp_path / "blank.png"
    write_image(blank, np.full((96, 96, 3), 128, np.uint8))
    with caplog.at_level(logging.WARNING):
        crops = training_crops(
            [testdata / "face_frontal_a.jpg", testdata / "group_3faces.jpg"],
            analyser,
            64,
            1.0,
            lambda crop: "c",
        )
    assert [c.source.name for c in crops] == ["face_frontal_a.jpg"]
    assert crops[0].caption == "c" and crops[0].image.shape == (64, 64, 3)
    assert "group_3faces.jpg shows 3 faces" in caplog.text
    with pytest.raises(NoFaceError, match=r"No face was found in blank\.png"):
        training_crops([blank], analyser, 64, 1.0, lambda crop: "c")


def _tiny_captioner(folder: Path) -> Path:
    """A vision encoder-decoder captioning model with random weights (ViT of one layer, GPT-2 of one
    layer) with an image processor and the tiny byte-level tokenizer, saved as a local folder."""
    from tiny_models import vocabulary_size, write_tokenizer
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
        ViTModel,
    )

    torch.manual_seed(0)
    vision = ViTConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        image_size=32,
        patch_size=8,
    )
    start, end = vocabulary_size() - 2, vocabulary_size() - 1
    text = GPT2Config(
        vocab_size=vocabulary_size(),
        n_embd=32,
        n_layer=1,
        n_head=2,
        n_positions=64,
        add_cross_attention=True,
        bos_token_id=start,
        eos_token_id=end,
    )
    model = VisionEncoderDecoderModel(encoder=ViTModel(vision), decoder=GPT2LMHeadModel(text))
    model.config.decoder_start_token_id, model.config.pad_token_id = start, end
    model.save_pretrained(folder)
    write_tokenizer(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_a_captioning_model_describes_each_crop(tiny_sd15: Path, analyser, testdata, tmp_path) -> None:
    from faceforge.diffusion.captions import Captioner

    folder = _tiny_captioner(tmp_path / "captioner")
    out = tmp_path / "captioned"
    photos = [testdata / name for name in PHOTOS]
    options = _options(tiny_sd15, steps=1, captioner=str(folder))
    train_lora(photos, out, options, analyser, echo=str)
    captions = json.loads((out / "settings.json").read_text())["captions"]
    describe = Captioner(str(folder))
    for path in photos:
        crop = aligned_crop(read_image(path), one_face(analyser, path, read_image(path)), 64, 1.0)
        described = describe(crop)
        assert described, "the model said nothing"
        assert captions[str(path)] == f"a photo of a sks person's face, {described}"
    with pytest.raises(InputError, match="not a local model folder"):
        Captioner(str(tmp_path / "nothing"))


def test_template_captions() -> None:
    assert LoraTrainOptions().caption() == "a photo of a sks person's face"
    custom = LoraTrainOptions(token="zwx", class_word="woman", extra_words="studio light")
    assert custom.caption() == "a photo of a zwx woman's face, studio light"
    with pytest.raises(InputError, match="must contain"):
        LoraTrainOptions(template="a photo of a face")


def _lora_tensors(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / LORA_FILE)


def _killed_after_first_checkpoint(base: Path, photos: list[Path], output: Path, marker: Path) -> None:
    """``train-lora`` in a subprocess, killed (SIGKILL) while it waits after its first checkpoint (the
    atomic-commit test hook), so the kill lands between two checkpoints at any machine speed."""
    flags = ["--resolution", "64", "--device", "cpu", "--lr", "0.001", "--validation-images", "0"]
    flags += ["--steps", "4", "--save-every", "2", "--accumulation", "2", "--base", str(base)]
    args = [str(FACEFORGE), "diffusion", "train-lora", *map(str, photos), "-o", str(output), *flags]
    # As many threads as this process uses, so both runs sum in the same order (bit-identical weights).
    threads = str(torch.get_num_threads())
    env = {**os.environ, "OMP_NUM_THREADS": threads, PAUSE_ENV: f"after-checkpoint:{marker}"}
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), process.stderr.read().decode() if process.stderr else "no checkpoint"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)


@pytest.mark.slow
def test_killed_training_resumes_exactly_and_the_lora_changes_the_swap_pipeline(
    tiny_sd15: Path, analyser, testdata, tmp_path
) -> None:
    photos = [testdata / name for name in PHOTOS]
    whole = tmp_path / "whole"
    train_lora(photos, whole, _options(tiny_sd15, steps=4, save_every=2, accumulation=2), analyser, echo=str)
    assert [step for step, _ in saved_checkpoints(whole)] == [2, 4]
    halves = tmp_path / "halves"
    _killed_after_first_checkpoint(tiny_sd15, photos, halves, tmp_path / "checkpoint-saved")
    assert [step for step, _ in saved_checkpoints(halves)] == [2]
    assert not (halves / LORA_FILE).exists()
    told: list[str] = []
    train_lora(
        photos,
        halves,
        _options(tiny_sd15, steps=4, save_every=2, accumulation=2),
        analyser,
        resume=True,
        echo=told.append,
    )
    assert any("Resuming at step 2" in line for line in told)
    first, second = _lora_tensors(whole), _lora_tensors(halves)
    assert first.keys() == second.keys() and len(first) > 0
    assert all(torch.equal(first[k], second[k]) for k in first)
    report = json.loads((whole / "training.json").read_text())
    assert report["losses"] == json.loads((halves / "training.json").read_text())["losses"]
    assert len(report["losses"]) == 4 and (whole / "report.html").is_file()
    state = torch.load(saved_checkpoints(whole)[-1][1] / STATE_FILE, weights_only=True)
    assert int(state["step"]) == 4

    pipeline = load_inpaint_pipeline(str(tiny_sd15), runtime=Runtime(device="cpu"))
    image = np.full((64, 64, 3), 120, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255

    def render() -> np.ndarray:
        from PIL import Image

        return pipeline(
            prompt="a photo of a sks person's face",
            image=Image.fromarray(image),
            mask_image=Image.fromarray(mask),
            height=64,
            width=64,
            num_inference_steps=2,
            strength=0.8,
            generator=torch.Generator().manual_seed(0),
            output_type="np",
        ).images[0]

    plain = render()
    load_lora(pipeline, str(whole))
    assert np.abs(render() - plain).max() > 1e-4


def test_resume_with_other_settings_is_refused(tiny_sd15: Path, analyser, testdata, tmp_path) -> None:
    photos = [testdata / "face_frontal_a.jpg"]
    out = tmp_path / "lora"
    train_lora(photos, out, _options(tiny_sd15, steps=1, save_every=1), analyser, echo=str)
    with pytest.raises(InputError, match="rank"):
        train_lora(photos, out, _options(tiny_sd15, steps=2, rank=4), analyser, resume=True, echo=str)
    with pytest.raises(OutputError, match="--resume"):
        train_lora(photos, out, _options(tiny_sd15, steps=2), analyser, echo=str)


def test_best_checkpoint_follows_the_identity_scores(analyser, photo, testdata) -> None:
    a, b = (photo(n) for n in ("face_frontal_a.jpg", "face_frontal_b.jpg"))
    crop_a = aligned_crop(a, one_face(analyser, testdata / "face_frontal_a.jpg", a), 192, 1.0)
    crop_b = aligned_crop(b, one_face(analyser, testdata / "face_frontal_b.jpg", b), 192, 1.0)
    scorer = IdentityScorer(analyser, [crop_a])
    same, other = scorer(crop_a), scorer(crop_b)
    assert same is not None and other is not None and same < 0.2 < other
    assert scorer(np.full((192, 192, 3), 90, np.uint8)) is None  # no face: a miss
    scores = [
        CheckpointScore(2, 0.5, (other, None)),
        CheckpointScore(4, 0.4, (same, same)),
        CheckpointScore(6, 0.3, (other, other)),
        CheckpointScore(8, 0.2, (None, None)),
    ]
    assert choose_best(scores).step == 4
    assert choose_best([scores[0], scores[3]]).step == 2  # fewer misses wins
    assert choose_best([scores[3], CheckpointScore(10, 0.1, (None, None))]).step == 10  # all miss: the last


def test_bad_inputs_are_one_sentence(tiny_sd15: Path, testdata, tmp_path) -> None:
    runner = CliRunner()
    photo = str(testdata / "face_frontal_a.jpg")
    tiny = ["--resolution", "64", "--steps", "1", "--device", "cpu", "--validation-images", "0"]

    def run(*args: str):
        result = runner.invoke(app, ["train-lora", *args, *tiny])
        assert "Traceback" not in result.output
        return result

    missing = run(photo, "-o", str(tmp_path / "a"), "--base", str(tmp_path / "nothing"))
    assert missing.exit_code == 6 and "base model" in missing.output
    no_base = run(photo, "-o", str(tmp_path / "a"))
    assert no_base.exit_code == 2 and "--base" in no_base.output
    itself = run(photo, "-o", photo, "--base", str(tiny_sd15))
    assert itself.exit_code == 5 and "is the input" in itself.output
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "x.txt").write_text("kept")
    refused = run(photo, "-o", str(existing), "--base", str(tiny_sd15))
    assert refused.exit_code == 5 and "--overwrite" in refused.output
    assert (existing / "x.txt").read_text() == "kept"
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    not_image = run(str(text), "-o", str(tmp_path / "b"), "--base", str(tiny_sd15))
    assert not_image.exit_code in (2, 3) and "notes.jpg" in not_image.output
    blank = tmp_path / "blank.png"
    write_image(blank, np.full((96, 96, 3), 128, np.uint8))
    no_face = run(str(blank), "-o", str(tmp_path / "c"), "--base", str(tiny_sd15))
    assert no_face.exit_code == 4 and "No face was found in blank.png" in no_face.output
    done = run(photo, "-o", str(tmp_path / "d"), "--base", str(tiny_sd15))
    assert done.exit_code == 0, done.output
    assert (tmp_path / "d" / LORA_FILE).is_file() and "Best checkpoint: step 1" in done.output


@pytest.mark.slow
def test_sdxl_lora_trains_with_gradient_checkpointing_and_loads(
    tiny_sdxl: Path, analyser, testdata, tmp_path
) -> None:
    out = tmp_path / "xl"
    options = _options(tiny_sdxl, steps=1, gradient_checkpointing=True, batch=2)
    best = train_lora([testdata / "face_frontal_a.jpg"], out, options, analyser, echo=str)
    assert best.step == 1 and "not validated" in best.summary()
    pipeline = load_inpaint_pipeline(str(tiny_sdxl), runtime=Runtime(device="cpu"))
    load_lora(pipeline, str(out))
    assert pipeline.get_list_adapters()["unet"] == ["source"]


@pytest.mark.slow
def test_validation_scores_every_checkpoint(tiny_sd15: Path, analyser, testdata, tmp_path) -> None:
    """With validation on, each checkpoint's fixed-seed inpaintings are scored (the tiny random model
    paints no face, so each is a miss) and the report names the chosen checkpoint."""
    out = tmp_path / "validated"
    options = _options(tiny_sd15, steps=2, save_every=1, validation_images=2, validation_steps=2)
    best = train_lora([testdata / "face_frontal_a.jpg"], out, options, analyser, echo=str)
    report = json.loads((out / "training.json").read_text())
    assert [c["step"] for c in report["checkpoints"]] == [1, 2]
    assert all(len(c["distances"]) == 2 for c in report["checkpoints"])
    assert report["best"]["step"] == best.step
    assert "<svg" in (out / "report.html").read_text()
