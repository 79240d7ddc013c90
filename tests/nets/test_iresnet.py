"""ArcFace iResNet: the iResNet-100 checkpoint layout, strict loading from a state dict, the forward
contract on a tiny network, and clear errors for other networks' weights."""

import json
from pathlib import Path

import pytest
import torch

from faceforge.errors import WeightsError
from faceforge.nets.iresnet import IResNet, iresnet100, iresnet_from_state_dict

REFERENCE = json.loads(
    (
        Path(__file__).resolve().parents[3] / "shared" / "reference" / "arcface_iresnet100_keys.json"
    ).read_text()
)


@pytest.fixture(scope="module")
def random_iresnet100_state() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        key: torch.tensor(3)
        if key.endswith("num_batches_tracked")
        else torch.randn(shape, generator=generator)
        for key, shape in REFERENCE["state_dict"].items()
    }


@pytest.fixture(scope="module")
def tiny() -> IResNet:
    torch.manual_seed(0)
    model = IResNet(layers=(1, 2, 1, 1), width=4, embedding_size=16)
    with torch.no_grad():  # BatchNorm statistics that are not the identity, so eval mode is visible
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def test_iresnet100_has_the_checkpoint_layout():
    with torch.device("meta"):
        model = iresnet100()
    state = model.state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == REFERENCE["state_dict"]
    assert list(state) == list(REFERENCE["state_dict"])
    assert len(state) == REFERENCE["n_tensors"] == 925
    assert sum(p.numel() for p in model.parameters()) == REFERENCE["n_parameters"]
    assert {k: str(b.dtype).removeprefix("torch.") for k, b in model.named_buffers()} == {
        k: spec["dtype"] for k, spec in REFERENCE["buffers"].items()
    }
    assert all(m.eps == 1e-5 for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))


def test_a_random_iresnet100_checkpoint_loads_strictly(random_iresnet100_state):
    model = iresnet_from_state_dict(random_iresnet100_state)
    assert not model.training
    loaded = model.state_dict()
    assert len(loaded) == 925
    for key in ("conv1.weight", "layer3.29.bn3.running_var", "fc.weight", "features.bias"):
        assert loaded[key].dtype == torch.float32 and torch.equal(loaded[key], random_iresnet100_state[key])
    assert loaded["layer2.0.downsample.1.num_batches_tracked"].item() == 3


def test_forward_gives_the_raw_embedding_and_loading_reproduces_it(tiny):
    faces = torch.rand(2, 3, 112, 112) * 2 - 1
    state = {key: value.clone() for key, value in tiny.state_dict().items()}
    with torch.no_grad():
        embedding = tiny(faces)
        again = iresnet_from_state_dict(state)(faces)
    assert embedding.shape == (2, 16) and embedding.dtype == torch.float32
    assert not torch.allclose(embedding.norm(dim=1), torch.ones(2), atol=1e-2)  # not L2-normalised
    torch.testing.assert_close(again, embedding)


def test_half_precision_weights_give_a_float32_model(tiny):
    half = {
        key: value.half() if value.is_floating_point() else value for key, value in tiny.state_dict().items()
    }
    model = iresnet_from_state_dict(half)
    assert all(t.dtype == torch.float32 for t in model.parameters())
    assert model.layer1[0].bn1.num_batches_tracked.dtype == torch.int64
    assert not model.features.weight.requires_grad  # ArcFace keeps the embedding's BatchNorm scale at 1


def test_other_weights_raise_weights_errors(tiny, random_iresnet100_state):
    aeinet_like = {
        "encoder.conv1.0.weight": torch.empty(32, 3, 4, 4),
        "generator.up1.bias": torch.empty(1024),
    }
    for state in ({}, aeinet_like):
        with pytest.raises(
            WeightsError, match=r"^The weights are not an ArcFace iResNet identity network\.$"
        ):
            iresnet_from_state_dict(state)
    truncated = dict(tiny.state_dict())
    del truncated["layer2.0.bn3.running_mean"]
    damaged = {
        "they lack 'layer2.0.bn3.running_mean'": truncated,
        "'fc.weight' is [16, 99] where [16, 1568] is expected": {
            **tiny.state_dict(),
            "fc.weight": torch.empty(16, 99),
        },
        "they hold an unexpected 'fc.extra'": {**random_iresnet100_state, "fc.extra": torch.empty(1)},
    }
    for difference, state in damaged.items():
        with pytest.raises(WeightsError) as error:
            iresnet_from_state_dict(state)
        assert str(error.value) == f"The weights are not an ArcFace iResNet identity network: {difference}."


def test_iresnet_arguments_are_checked():
    with pytest.raises(ValueError, match="four stages"):
        IResNet(layers=(3, 4, 6))
