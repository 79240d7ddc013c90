"""--swapper diffusion with the tiny stacks (random weights, 64 px, 2 steps, CPU): a photo swap whose
background stays bit-identical, the LoRA changing the output, the strength search on a real crop, folder
targets, offline loading, and one sentence for each bad input."""

import socket
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceforge.api import swap_path
from faceforge.config import SwapConfig, configured
from faceforge.diffusion.mask import inpaint_mask
from faceforge.diffusion.options import DiffusionSwapOptions
from faceforge.errors import FaceforgeError, InputError, OptionError, WeightsError
from faceforge.geometry.alignment import align_face
from faceforge.media.images import read_image, write_image
from faceforge.media.provenance import read_tag
from faceforge.swappers.diffusion import DiffusionSwapper

TINY = {"resolution": 64, "steps": 2, "guidance": 2.0, "device": "cpu"}


def _options(base: Path, **changes) -> DiffusionSwapOptions:
    return DiffusionSwapOptions(base=str(base), **{**TINY, **changes})


def _aligned(analyser, image: np.ndarray, swapper: DiffusionSwapper):
    return align_face(image, analyser.faces(image)[0], swapper.template, swapper.crop_size)


def _one_sentence(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and text.endswith((".", ")")), text
    return text


def _config(base: Path, **changes) -> SwapConfig:
    values = {f"swappers.diffusion.{k}": v for k, v in {**TINY, "base": str(base), **changes}.items()}
    return configured(SwapConfig(swapper="diffusion"), values)


def _write_lora(base: Path, folder: Path) -> Path:
    """A random LoRA on the UNet's attention layers of ``base``, saved in the layout diffusers loads."""
    import torch
    from diffusers import AutoPipelineForInpainting
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    pipeline = AutoPipelineForInpainting.from_pretrained(base, local_files_only=True)
    torch.manual_seed(1)
    config = LoraConfig(
        r=4, lora_alpha=64, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False
    )
    pipeline.unet.add_adapter(config)
    type(pipeline).save_lora_weights(folder, unet_lora_layers=get_peft_model_state_dict(pipeline.unet))
    return folder


def test_photo_swap_changes_only_the_masked_face(
    tiny_sd15: Path, analyser, photo, testdata, tmp_path
) -> None:
    target = photo("face_frontal_b.jpg")
    out = tmp_path / "out.png"
    swap_path([[testdata / "face_frontal_a.jpg"]], testdata / "face_frontal_b.jpg", out, _config(tiny_sd15))
    result = read_image(out)
    assert read_tag(out)["swapper"] == "diffusion"
    # Where the inpainting mask, warped back to the frame (and grown 2 px for the resampling), is zero,
    # every pixel is the target's own; inside it the face changed.
    face = analyser.faces(target)[0]
    aligned = align_face(target, face, DiffusionSwapper.template, 64)
    mask = inpaint_mask(aligned.landmarks, (64, 64), 0.0, 0.03)
    height, width = target.shape[:2]
    support = cv2.warpAffine(
        (mask > 0).astype(np.uint8),
        aligned.matrix,
        (width, height),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
    )
    support = cv2.dilate(support, np.ones((5, 5), np.uint8)).astype(bool)
    assert np.array_equal(result[~support], target[~support])
    assert np.abs(result[support].astype(int) - target[support]).mean() > 2.0


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["tiny_sd15", "tiny_sdxl"])
def test_lora_changes_the_output_and_scale_zero_does_not(
    request, fixture: str, analyser, photo, tmp_path
) -> None:
    base = request.getfixturevalue(fixture)
    lora = _write_lora(base, tmp_path / "lora")
    plain = DiffusionSwapper(_options(base))
    aligned = _aligned(analyser, photo("face_frontal_b.jpg"), plain)
    without = plain.swap([aligned], None)[0]
    assert without.mask is not None and without.mask.shape == (64, 64)
    outside = without.mask == 0
    assert np.array_equal(without.image[outside], aligned.image[outside])
    with_lora = DiffusionSwapper(_options(base, lora=str(lora))).swap([aligned], None)[0]
    # The tiny UNet's attention carries little of its output, so the change is small but everywhere.
    changed = np.abs(with_lora.image.astype(int) - without.image).max(axis=2)
    assert np.mean(changed[without.mask > 0.5] > 0) > 0.2 and not changed[outside].any()
    off = DiffusionSwapper(_options(base, lora=str(lora), lora_scale=0.0)).swap([aligned], None)[0]
    assert np.abs(off.image.astype(int) - without.image).max() <= 1
    again = plain.swap([aligned], None)[0]
    assert np.array_equal(again.image, without.image)  # the fixed seed


def test_strength_auto_scores_every_candidate(tiny_sd15: Path, analyser, photo) -> None:
    """Random weights paint no face, so every candidate fails the face check and the face is declined
    (left as it is) with each candidate's scores in the reason."""
    source_image = photo("face_frontal_a.jpg")
    from faceforge.types import SourceIdentity

    face = analyser.embed(source_image, analyser.faces(source_image)[:1])[0]
    source = SourceIdentity(((source_image, face),), embedding=face.embedding)
    swapper = DiffusionSwapper(_options(tiny_sd15, strength="auto"))
    prepared = swapper.prepare_source(source)
    aligned = _aligned(analyser, photo("face_frontal_b.jpg"), swapper)
    result = swapper.swap([aligned], prepared)[0]
    swapper.close()
    (choice,) = swapper.strength_choices
    assert [c.strength for c in choice.candidates] == [0.3, 0.4, 0.5, 0.6, 0.7]
    assert result.declined is not None and all(f"{s:g}: " in result.declined for s in (0.3, 0.5, 0.7))
    assert np.array_equal(result.image, aligned.image)


@pytest.mark.slow
def test_folder_target(tiny_sd15: Path, testdata, photo, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("face_frontal_b.jpg", "face_lowkey_c.jpg"):
        write_image(folder / f"{Path(name).stem}.png", photo(name))
    report = swap_path([[testdata / "face_frontal_a.jpg"]], folder, tmp_path / "out", _config(tiny_sd15))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["face_frontal_b.png", "face_lowkey_c.png"]
    assert len(report.swapped) == 2 and not report.failed


def test_loads_without_network_or_offline_variables(tiny_sd15: Path, monkeypatch) -> None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DIFFUSERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)

    def no_network(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    swapper = DiffusionSwapper(_options(tiny_sd15))
    assert type(swapper.pipeline).__name__ == "StableDiffusionInpaintPipeline"
    # --resolution 0 (the default) is the model's own size: the tiny UNet's 32 latents x the VAE's 2.
    assert DiffusionSwapper(DiffusionSwapOptions(base=str(tiny_sd15), device="cpu")).crop_size == 64


def test_bad_input_is_one_sentence_each(tiny_sd15: Path, tiny_sdxl: Path, testdata, photo, tmp_path) -> None:
    with pytest.raises(InputError, match="needs --base MODEL") as error:
        DiffusionSwapper(DiffusionSwapOptions(**TINY))
    _one_sentence(error.value)
    with pytest.raises(WeightsError, match="base model") as error:
        DiffusionSwapper(_options(tmp_path / "no-such-model"))
    _one_sentence(error.value)
    lora_for_xl = _write_lora(tiny_sdxl, tmp_path / "xl-lora")
    with pytest.raises(WeightsError, match=r"does not fit this base model|matches no layer") as error:
        DiffusionSwapper(_options(tiny_sd15, lora=str(lora_for_xl)))
    _one_sentence(error.value)
    with pytest.raises(InputError, match="multiple of 8") as error:
        DiffusionSwapper(_options(tiny_sd15, resolution=60))
    _one_sentence(error.value)
    for strength in ("1.5", "0.01", "strong"):
        with pytest.raises(OptionError, match="--strength") as error:
            DiffusionSwapOptions(strength=strength)
        _one_sentence(error.value)
    clip = testdata / "short_noaudio_small.mp4"
    with pytest.raises(InputError, match="--video-frames") as error:
        swap_path([[testdata / "face_frontal_a.jpg"]], clip, tmp_path / "out.mp4", _config(tiny_sd15))
    _one_sentence(error.value)
    assert not (tmp_path / "out.mp4").exists()
    blank = tmp_path / "blank.png"
    write_image(blank, np.full((128, 128, 3), 90, np.uint8))
    with pytest.raises(FaceforgeError) as error:
        swap_path([[testdata / "face_frontal_a.jpg"]], blank, tmp_path / "out.png", _config(tiny_sd15))
    _one_sentence(error.value)
    assert not (tmp_path / "out.png").exists()


def test_video_frames_opt_in_swaps_every_frame(tiny_sd15: Path, testdata, photo, tmp_path) -> None:
    """With --video-frames a (4-frame, made here) clip is inpainted frame by frame."""
    import av

    image = cv2.resize(photo("face_frontal_b.jpg"), (320, 320), interpolation=cv2.INTER_AREA)
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 320, "yuv420p"
        for _ in range(4):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    out = tmp_path / "out.mp4"
    config = _config(tiny_sd15, video_frames=True)
    report = swap_path([[testdata / "face_frontal_a.jpg"]], clip, out, config)
    assert report.frames == 4 and report.faces_swapped == 4
    assert read_tag(out)["swapper"] == "diffusion"


def test_a_weights_registry_name_resolves_to_a_single_file(tiny_sd15: Path, monkeypatch, tmp_path) -> None:
    """A file added with `weights add` is found by its name and loaded as a single checkpoint file: it
    needs --base-config, and a file that is no whole checkpoint (here the UNet alone) is one sentence."""
    from faceforge.weights.add import add_file

    cache = tmp_path / "weights"
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(cache))
    add_file(tiny_sd15 / "unet" / "diffusion_pytorch_model.safetensors", "my-inpainting", cache)
    with pytest.raises(InputError, match="needs --base-config FOLDER") as error:
        DiffusionSwapper(_options(Path("my-inpainting")))
    _one_sentence(error.value)
    with pytest.raises(WeightsError, match="could not be read as a checkpoint of model's family") as error:
        DiffusionSwapper(_options(Path("my-inpainting"), base_config=str(tiny_sd15)))
    _one_sentence(error.value)
