from pathlib import Path

import cv2
import kornia.geometry
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from faceforge.analysis.crop_identity import (
    DLIB_FIVE_IN_GHOST_CROP,
    ArcFaceCropIdentity,
    DlibCropIdentity,
    create_crop_identity,
)
from faceforge.analysis.identity import TorchIdentityEncoder, extract_dlib_chip
from faceforge.errors import WeightsError
from faceforge.geometry.alignment import anchor_points
from faceforge.geometry.ghost_crop import ghost_alignment
from faceforge.nets.iresnet import IResNet

FRONTAL = ("face_frontal_a.jpg", "face_frontal_b.jpg", "face_glasses_e.png")


@pytest.fixture(scope="module")
def dlib_identity() -> DlibCropIdentity:
    module = create_crop_identity("dlib")
    assert isinstance(module, DlibCropIdentity)
    return module


@pytest.fixture(scope="module")
def frontal_faces(analyser, photo):
    """name -> (image, face, 256-px GHOST crop as uint8 RGB)."""
    out = {}
    for name in FRONTAL:
        image = np.ascontiguousarray(photo(name)[..., :3])
        face = analyser.faces(image)[0]
        matrix, _ = ghost_alignment(anchor_points(face.landmarks), 256)
        crop = cv2.warpAffine(
            image, matrix, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
        )
        out[name] = (image, face, crop)
    return out


def _tensor(crops: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def test_dlib_crop_identity_agrees_with_the_torch_identity_encoder(dlib_identity, frontal_faces):
    reference = TorchIdentityEncoder(device="cpu")
    names = list(frontal_faces)
    with torch.no_grad():
        ours = dlib_identity(_tensor([frontal_faces[n][2] for n in names])).numpy()
    theirs = np.concatenate([reference.embed(image, [face]) for image, face, _ in frontal_faces.values()])
    assert ours.shape == (3, 128) and dlib_identity.dim == 128
    distances = np.linalg.norm(ours[:, None] - theirs[None], axis=-1)
    # Same face: one fixed chip placement instead of each face's own points costs about 0.1; different
    # people stay far beyond dlib's 0.6 threshold.
    assert np.diag(distances).max() < 0.15
    assert distances[~np.eye(3, dtype=bool)].min() > 0.6


def test_the_chip_is_cut_as_dlib_cuts_it(dlib_identity, frontal_faces):
    crop = frontal_faces["face_frontal_a.jpg"][2]
    expected = extract_dlib_chip(crop, DLIB_FIVE_IN_GHOST_CROP * 256)
    chip = kornia.geometry.transform.warp_affine(
        _tensor([crop]).add(1).mul(127.5),
        dlib_identity.chip_matrix,
        (150, 150),
        mode="bilinear",
        align_corners=True,
    )
    chip_np = chip[0].permute(1, 2, 0).numpy()
    # Inside the chip (dlib blackens samples near the crop's edge, kornia reads zeros beyond it), the same
    # bilinear samples up to dlib's truncation to uint8 (and float32 rounding).
    inner = np.s_[25:125, 25:125]
    assert np.abs(chip_np[inner] - expected[inner]).max() < 1.01


def test_gradients_reach_the_pixels_not_the_network(dlib_identity, frontal_faces):
    crops = _tensor([frontal_faces["face_frontal_b.jpg"][2]]).requires_grad_(True)
    dlib_identity.train()
    assert not dlib_identity.network.training
    dlib_identity(crops).square().sum().backward()
    assert crops.grad is not None and crops.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in dlib_identity.parameters())


def test_crops_of_another_size_are_refused(dlib_identity):
    with pytest.raises(ValueError, match="256-px"):
        dlib_identity(torch.zeros(1, 3, 224, 224))


def test_unknown_encoders_and_missing_files_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="one of: arcface, dlib"):
        create_crop_identity("facenet")
    with pytest.raises(WeightsError, match="missing"):
        create_crop_identity("dlib", str(tmp_path / "nothing.dat"))


@pytest.fixture(scope="module")
def tiny_arcface_file(tmp_path_factory) -> Path:
    """A small iResNet in the official layout, saved as a plain state-dict .pth like backbone.pth."""
    torch.manual_seed(0)
    network = IResNet((1, 1, 1, 1), width=8, embedding_size=512).eval()
    path = tmp_path_factory.mktemp("arcface") / "backbone.pth"
    torch.save(network.state_dict(), path)
    return path


@pytest.mark.slow
def test_arcface_crop_identity_resizes_to_112_with_the_chosen_convention(tiny_arcface_file):
    torch.manual_seed(1)
    crops = torch.rand(2, 3, 224, 224) * 2 - 1
    inference = create_crop_identity("arcface", str(tiny_arcface_file), align_corners=True)
    training = create_crop_identity("arcface", str(tiny_arcface_file))
    assert isinstance(inference, ArcFaceCropIdentity) and inference.dim == 512
    with torch.no_grad():
        # GHOST's inference: 224 crop -> scale factor 0.5, bilinear, align_corners=True, raw output.
        small = F.interpolate(crops, scale_factor=0.5, mode="bilinear", align_corners=True)
        expected = inference.network(small)
        torch.testing.assert_close(inference(crops), expected)
        assert not torch.allclose(training(crops), expected, atol=1e-3)


def test_arcface_gradients_reach_the_pixels_only(tiny_arcface_file):
    identity = create_crop_identity("arcface", str(tiny_arcface_file))
    identity.train()
    assert not identity.network.training
    crops = torch.zeros(1, 3, 256, 256, requires_grad=True)
    identity(crops).sum().backward()
    assert crops.grad is not None and crops.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in identity.parameters())


def test_arcface_without_its_weights_says_what_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEFORGE_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="faceforge weights fetch ghost-arcface-backbone"):
        create_crop_identity("arcface")
