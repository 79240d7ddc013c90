"""The ghost swapper on tiny networks in GHOST's official layouts: conventions, poses, backends, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from faceforge.api import swap_image
from faceforge.config import NeuralOptions, SwapConfig
from faceforge.errors import InputError, WeightsError
from faceforge.geometry.alignment import TEMPLATES, align_face, anchor_points
from faceforge.geometry.ghost_crop import FRONTAL_POSE, ghost_alignment
from faceforge.nets.aeinet import AEINet, AEINetConfig
from faceforge.nets.iresnet import IResNet
from faceforge.swappers.ghost import EXPORT_FOLDER, GhostSwapper, OnnxGenerator, TorchGenerator, torch_runtime
from faceforge.swappers.registry import create_swapper
from faceforge.training.checkpoint import CheckpointStore
from faceforge.training.oneshot.model_io import prefixed
from faceforge.types import SourceIdentity


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory) -> dict[str, Path]:
    """A width-4 one-block AEI-Net and a one-block-per-stage iResNet, saved as plain state-dict .pth files
    with the official keys (as G_unet_*.pth and backbone.pth are)."""
    folder = tmp_path_factory.mktemp("ghost_weights")
    torch.manual_seed(0)
    generator = AEINet(AEINetConfig(num_blocks=1, width=4, c_id=512)).eval()
    torch.save(generator.state_dict(), folder / "G_tiny.pth")
    torch.save(
        IResNet((1, 1, 1, 1), width=8, embedding_size=512).eval().state_dict(), folder / "backbone.pth"
    )
    torch.save(
        IResNet((1, 1, 1, 1), width=8, embedding_size=256).eval().state_dict(), folder / "arcface256.pth"
    )
    return {
        "G": folder / "G_tiny.pth",
        "arcface": folder / "backbone.pth",
        "arcface256": folder / "arcface256.pth",
    }


@pytest.fixture(scope="module")
def options(tiny_files) -> NeuralOptions:
    return NeuralOptions(
        weights=str(tiny_files["G"]), identity_weights=str(tiny_files["arcface"]), device="cpu"
    )


@pytest.fixture(scope="module")
def swapper(options) -> GhostSwapper:
    built = create_swapper("ghost", options)
    assert isinstance(built, GhostSwapper)
    return built


@pytest.fixture(scope="module")
def faces(analyser, photo):
    """name -> (RGB image, its main face)."""
    out = {}
    for name in ("face_frontal_a.jpg", "face_frontal_b.jpg", "face_profile_f.jpg"):
        image = np.ascontiguousarray(photo(name)[..., :3])
        out[name] = (image, analyser.faces(image)[0])
    return out


@pytest.fixture(scope="module")
def targets(swapper, faces):
    """A frontal and a turned target, aligned as the pipeline aligns them for this swapper."""
    return [
        align_face(*faces[name], swapper.template, swapper.crop_size)
        for name in ("face_frontal_b.jpg", "face_profile_f.jpg")
    ]


def _generator_output(model: AEINet, crop: np.ndarray, source: np.ndarray) -> np.ndarray:
    """GHOST's tensor conventions written out: RGB (x/255 - 0.5)/0.5 in, Y*0.5 + 0.5 out, rounded."""
    x = (torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255.0 - 0.5) / 0.5
    with torch.no_grad():
        y = model(x, torch.from_numpy(source))[0][0]
    return ((y * 0.5 + 0.5) * 255.0).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()


def _assert_within_one(ours: np.ndarray, expected: np.ndarray) -> None:
    """Equal up to one grey level: a batch and a single image take different float paths, so a value
    sitting on a rounding boundary may land either side."""
    difference = np.abs(ours.astype(int) - expected)
    assert difference.max() <= 1 and (difference > 0).mean() < 0.001


def test_the_registry_builds_it_on_the_frontal_template(swapper):
    assert swapper.name == "ghost" and swapper.crop_size == 256
    assert swapper.template is TEMPLATES["arcface_112_v1"]
    assert swapper.config == AEINetConfig(num_blocks=1, width=4, c_id=512)
    assert swapper.dtype == torch.float32 and swapper.device.type == "cpu"
    assert isinstance(swapper.generator, TorchGenerator) and not swapper.generator.model.training


def test_the_source_is_the_mean_raw_arcface_embedding_of_224_px_ghost_crops(swapper, faces):
    image, face = faces["face_frontal_a.jpg"]
    matrix, _ = ghost_alignment(anchor_points(face.landmarks), 224)
    crop = cv2.warpAffine(image, matrix, (224, 224), flags=cv2.INTER_LINEAR)
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    with torch.no_grad():
        expected = swapper.identity.network(
            F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=True)
        )
    single = swapper.prepare_source(SourceIdentity(views=((image, face),)))
    assert single.shape == (1, 512) and single.dtype == np.float32
    np.testing.assert_allclose(single, expected.numpy(), atol=1e-5)
    other = swapper.prepare_source(SourceIdentity(views=(faces["face_frontal_b.jpg"],)))
    both = swapper.prepare_source(SourceIdentity(views=((image, face), faces["face_frontal_b.jpg"])))
    np.testing.assert_allclose(both, (single + other) / 2, atol=1e-5)
    with pytest.raises(InputError, match="no photo"):
        swapper.prepare_source(SourceIdentity(views=()))


def test_swap_feeds_the_generator_ghost_tensors_and_warps_turned_heads_back(swapper, targets, faces):
    source = swapper.prepare_source(SourceIdentity(views=(faces["face_frontal_a.jpg"],)))
    frontal, turned = targets
    results = swapper.swap(targets, source)
    assert [r.image.shape for r in results] == [(256, 256, 3)] * 2
    assert all(r.image.dtype == np.uint8 and r.mask is None for r in results)
    # The frontal face goes in as it is.
    assert swapper.pose_matrix(frontal) is None
    _assert_within_one(results[0].image, _generator_output(swapper.generator.model, frontal.image, source))
    # The turned one goes in re-warped to GHOST's side template and comes back in the frontal crop.
    matrix = swapper.pose_matrix(turned)
    assert matrix is not None
    posed = cv2.warpAffine(
        turned.image, matrix, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
    )
    back = cv2.warpAffine(
        _generator_output(swapper.generator.model, posed, source),
        matrix,
        (256, 256),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT101,
    )
    _assert_within_one(results[1].image, back)
    assert swapper.swap([], source) == []


def test_a_turned_head_reaches_the_generator_laid_out_as_ghost_crops_it(swapper, targets, faces):
    """GHOST crops a turned head to a side template; re-warping the frontal crop gives the generator nearly
    the same pixels (two resamplings instead of one), where the frontal crop alone is far from them."""
    image, face = faces["face_profile_f.jpg"]
    matrix, chosen = ghost_alignment(anchor_points(face.landmarks), 256)
    assert chosen != FRONTAL_POSE
    ghost_crop = cv2.warpAffine(image, matrix, (256, 256), flags=cv2.INTER_LINEAR).astype(np.float32)
    turned = targets[1]
    posed = cv2.warpAffine(turned.image, swapper.pose_matrix(turned), (256, 256), flags=cv2.INTER_LINEAR)
    centre = np.s_[48:208, 48:208]
    with_poses = np.abs(posed[centre] - ghost_crop[centre]).mean()
    without_poses = np.abs(turned.image[centre] - ghost_crop[centre]).mean()
    assert with_poses < 3.0
    assert without_poses > 4 * with_poses


def test_end_to_end_the_face_changes_and_the_background_does_not(options, photo, faces):
    target = np.ascontiguousarray(photo("face_frontal_b.jpg")[..., :3])
    config = SwapConfig(swapper="ghost", swappers={"ghost": options})
    result = swap_image(photo("face_frontal_a.jpg"), target, config=config)
    assert result.shape == target.shape and result.dtype == np.uint8
    x0, y0, x1, y1 = faces["face_frontal_b.jpg"][1].box.astype(int)
    inner = np.s_[y0 + (y1 - y0) // 4 : y1 - (y1 - y0) // 4, x0 + (x1 - x0) // 4 : x1 - (x1 - x0) // 4]
    assert np.abs(result[inner].astype(int) - target[inner]).mean() > 10
    margin = (x1 - x0) // 2
    outside = np.ones(target.shape[:2], bool)
    outside[max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin] = False
    np.testing.assert_array_equal(result[outside], target[outside])


@pytest.mark.slow
def test_the_onnx_backend_matches_torch_and_exports_once(
    options, swapper, targets, faces, tmp_path, monkeypatch
):
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(tmp_path))
    onnx_options = NeuralOptions(
        weights=options.weights, identity_weights=options.identity_weights, device="cpu", backend="onnx"
    )
    first = GhostSwapper(onnx_options)
    assert isinstance(first.generator, OnnxGenerator)
    (export,) = (tmp_path / EXPORT_FOLDER).glob("*.onnx")
    stamp = export.stat().st_mtime_ns
    source = swapper.prepare_source(SourceIdentity(views=(faces["face_frontal_a.jpg"],)))
    np.testing.assert_allclose(
        first.prepare_source(SourceIdentity(views=(faces["face_frontal_a.jpg"],))), source
    )
    for ours, theirs in zip(first.swap(targets, source), swapper.swap(targets, source), strict=True):
        assert np.abs(ours.image.astype(int) - theirs.image).max() <= 2
    GhostSwapper(onnx_options)
    assert [p.name for p in (tmp_path / EXPORT_FOLDER).iterdir()] == [export.name]
    assert export.stat().st_mtime_ns == stamp
    with pytest.raises(InputError, match="onnx backend runs the generator in fp32"):
        GhostSwapper(dataclasses.replace(onnx_options, precision="fp16"))


def test_bf16_runs_the_generator_in_bfloat16_close_to_fp32(options, swapper, targets, faces):
    bf16 = GhostSwapper(dataclasses.replace(options, precision="bf16"))
    assert isinstance(bf16.generator, TorchGenerator) and bf16.generator.autocast
    source = swapper.prepare_source(SourceIdentity(views=(faces["face_frontal_a.jpg"],)))
    for ours, exact in zip(bf16.swap(targets, source), swapper.swap(targets, source), strict=True):
        difference = np.abs(ours.image.astype(int) - exact.image)
        assert 0 < difference.mean() < 3  # bfloat16 really ran, and stays close to float32


@pytest.mark.parametrize(("dtype", "channels_last"), [(torch.float32, False), (torch.bfloat16, True)])
def test_float32_feeds_nchw_and_bfloat16_channels_last(dtype, channels_last):
    model = AEINet(AEINetConfig(num_blocks=1, width=1, c_id=8)).eval()
    seen: list[torch.Tensor] = []
    model.register_forward_pre_hook(lambda _module, args: seen.append(args[0]))
    crops = np.random.default_rng(0).integers(0, 256, (2, 256, 256, 3), dtype=np.uint8)
    TorchGenerator(model, torch.device("cpu"), dtype)(crops, np.ones((1, 8), np.float32))
    (target,) = seen
    assert target.is_contiguous() != channels_last
    assert target.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_a_model_folder_brings_its_own_identity_encoder_and_crop(tmp_path, faces):
    config = AEINetConfig(num_blocks=1, width=4, c_id=128)
    torch.manual_seed(3)
    generator = AEINet(config).eval()
    store = CheckpointStore(tmp_path / "model")
    store.write_config(
        {
            "format": "faceforge-oneshot",
            "version": 1,
            "generator": config.to_dict(),
            "identity": {"encoder": "dlib", "dim": 128, "weights": None},
            "crop": {"size": 256, "poses": False},
            "train": {},
        }
    )
    store.save(5, prefixed(generator.state_dict(), {}), {}, loss=1.0)
    swapper = GhostSwapper(NeuralOptions(weights=str(tmp_path / "model"), device="cpu"))
    assert swapper.identity.encoder == "dlib" and not swapper.source_convention.poses
    source = swapper.prepare_source(SourceIdentity(views=(faces["face_frontal_a.jpg"],)))
    assert source.shape == (1, 128)
    target = align_face(*faces["face_profile_f.jpg"], swapper.template, 256)
    (result,) = swapper.swap([target], source)
    _assert_within_one(result.image, _generator_output(generator, target.image, source))
    with pytest.raises(WeightsError, match="not a one-shot model folder"):
        GhostSwapper(NeuralOptions(weights=str(tmp_path), device="cpu"))


def test_missing_weights_say_what_to_fetch(tmp_path, monkeypatch, tiny_files):
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="faceforge weights fetch ghost-unet-2blocks"):
        create_swapper("ghost", NeuralOptions(device="cpu"))
    with pytest.raises(WeightsError, match="faceforge weights fetch ghost-arcface-backbone"):
        create_swapper("ghost", NeuralOptions(weights=str(tiny_files["G"]), device="cpu"))


def test_mismatched_identity_sizes_and_impossible_runtimes_are_refused(tiny_files):
    with pytest.raises(WeightsError, match="512-d identities"):
        GhostSwapper(
            NeuralOptions(weights=str(tiny_files["G"]), identity_weights=str(tiny_files["arcface256"]))
        )
    assert torch_runtime("cpu", "auto") == (torch.device("cpu"), torch.float32)
    assert torch_runtime("cpu", "bf16") == (torch.device("cpu"), torch.bfloat16)
    with pytest.raises(InputError, match="CUDA"):
        torch_runtime("cpu", "fp16")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            torch_runtime("cuda", "auto")
