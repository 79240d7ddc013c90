"""AEI-Net: GHOST's key layout for every backbone and block count, strict loading, layout inference,
the forward contract at tiny width, the AAD maths and GHOST's initialisation."""

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from faceforge.errors import WeightsError
from faceforge.nets.aeinet import (
    AADLayer,
    AEINet,
    AEINetConfig,
    aeinet_config_from_state_dict,
    init_aeinet,
)
from faceforge.nets.layout import state_shapes

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
VARIANTS = json.loads((REFERENCE / "ghost_aeinet_keys.json").read_text())["variants"]
TINY = {"width": 4, "c_id": 16}


def _config(variant: dict) -> AEINetConfig:
    constructor = variant["constructor"]
    return AEINetConfig(constructor["backbone"], constructor["num_blocks"], constructor["c_id"])


def _variant(backbone: str, num_blocks: int) -> dict:
    wanted = {"backbone": backbone, "num_blocks": num_blocks, "c_id": 512}
    return next(v for v in VARIANTS.values() if v["constructor"] == wanted)


def _random_state(shapes: dict[str, list[int]], generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        key: torch.tensor(7)
        if key.endswith("num_batches_tracked")
        else torch.randn(shape, generator=generator)
        for key, shape in shapes.items()
    }


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_has_ghosts_keys_shapes_and_buffer_dtypes(name):
    variant = VARIANTS[name]
    with torch.device("meta"):
        model = AEINet(_config(variant))
    state = model.state_dict()
    assert state_shapes(model) == {key: tuple(shape) for key, shape in variant["state_dict"].items()}
    assert list(state) == list(variant["state_dict"])  # same order as GHOST's files
    assert len(state) == variant["n_tensors"]
    assert sum(p.numel() for p in model.parameters()) == variant["n_parameters"]
    buffers = dict(model.named_buffers())
    assert {key: str(b.dtype).removeprefix("torch.") for key, b in buffers.items()} == {
        key: spec["dtype"] for key, spec in variant["buffers"].items()
    }


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_layout_is_recovered_from_the_shapes(name):
    variant = VARIANTS[name]
    state = {key: torch.empty(shape, device="meta") for key, shape in variant["state_dict"].items()}
    assert aeinet_config_from_state_dict(state) == _config(variant)


@pytest.mark.parametrize("backbone", ["unet", "linknet", "resnet"])
def test_full_size_shapes_of_the_output_and_attribute_maps(backbone):
    reference = _variant(backbone, num_blocks=1)
    with torch.device("meta"):
        y, attrs = AEINet(AEINetConfig(backbone, num_blocks=1))(
            torch.empty(1, 3, 256, 256), torch.empty(1, 512)
        )
    assert list(y.shape) == reference["output_shape_for_1x3x256x256_input"]
    assert [list(a.shape) for a in attrs] == reference["attribute_map_shapes_for_1x3x256x256_input"]


@pytest.fixture(scope="module")
def ghost_1block_state():
    shapes = VARIANTS["G_unet_1block"]["state_dict"]
    return _random_state(shapes, torch.Generator().manual_seed(1))


@pytest.mark.slow
def test_a_full_size_random_checkpoint_loads_strictly(ghost_1block_state):
    config = aeinet_config_from_state_dict(ghost_1block_state)
    assert config == AEINetConfig("unet", num_blocks=1)
    with torch.device("meta"):
        model = AEINet(config)
    model = model.to_empty(device="cpu")
    result = model.load_state_dict(ghost_1block_state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    loaded = model.state_dict()
    for key in (
        "encoder.conv1.0.weight",
        "encoder.deconv6.bn.running_var",
        "generator.AADBlk8.add_blocks.2.weight",
    ):
        assert torch.equal(loaded[key], ghost_1block_state[key])
    assert loaded["encoder.conv7.1.num_batches_tracked"].item() == 7


def test_foreign_or_damaged_state_dicts_raise_weights_errors(ghost_1block_state):
    discriminator = {f"layer0.{i}.weight": torch.empty(1, device="meta") for i in (0, 2, 5)}
    for state in ({}, discriminator, {"generator.up1.weight": "not a tensor"}):
        with pytest.raises(WeightsError, match="not an AEI-Net generator"):
            aeinet_config_from_state_dict(state)
    truncated = dict(ghost_1block_state)
    del truncated["generator.AADBlk5.last_add_block.2.weight"]
    misshapen = {**ghost_1block_state, "generator.AADBlk3.add_blocks.0.fc1.weight": torch.empty(1024, 256)}
    damaged = {
        "they lack 'generator.AADBlk5.last_add_block.2.weight'": truncated,
        "'generator.AADBlk3.add_blocks.0.fc1.weight' is [1024, 256] where [1024, 512] is expected": misshapen,
        "they hold an unexpected 'module.extra'": {**ghost_1block_state, "module.extra": torch.empty(1)},
        "'encoder.conv2.1.bias' is not a tensor": {**ghost_1block_state, "encoder.conv2.1.bias": [0.0]},
    }
    for difference, state in damaged.items():
        with pytest.raises(WeightsError) as error:
            aeinet_config_from_state_dict(state)
        assert str(error.value) == (
            f"The weights are not a complete AEI-Net generator (unet, num_blocks 1, width 32): {difference}."
        )


@pytest.mark.parametrize(("backbone", "num_blocks"), [("unet", 2), ("linknet", 1), ("resnet", 1)])
def test_tiny_forward_contract(backbone, num_blocks):
    config = AEINetConfig(backbone, num_blocks, **TINY)
    model = AEINet(config)
    init_aeinet(model)
    model.eval()
    target = (torch.rand(1, 3, 256, 256) * 2 - 1).expand(2, -1, -1, -1)
    z_id = torch.randn(2, config.c_id) * 5
    with torch.no_grad():
        y, attrs = model(target, z_id)
        again = model.get_attr(target)
    assert y.shape == (2, 3, 256, 256) and y.dtype == torch.float32
    assert y.min() >= -1 and y.max() <= 1
    assert not torch.allclose(y[0], y[1], atol=1e-3)  # the identity reaches the output
    full_size = _variant(backbone, num_blocks)["attribute_map_shapes_for_1x3x256x256_input"]
    expected = [[2, c * config.width // 32, h, w] for _, c, h, w in full_size]
    assert [list(a.shape) for a in attrs] == expected
    assert len(again) == 8
    for a, b in zip(attrs, again, strict=True):
        torch.testing.assert_close(a, b)
    assert model.config is config


def test_the_aad_layer_blends_attribute_and_identity_modulations_by_the_mask():
    layer = AADLayer(channels=3, c_attr=2, c_id=4)
    h, z_attr, z_id = torch.randn(2, 3, 5, 5) * 3 + 1, torch.randn(2, 2, 5, 5), torch.randn(2, 4)
    mean = h.mean(dim=(2, 3), keepdim=True)
    normed = (h - mean) / torch.sqrt(h.var(dim=(2, 3), unbiased=False, keepdim=True) + 1e-5)
    attr_part = layer.conv1(z_attr) * normed + layer.conv2(z_attr)
    id_part = layer.fc1(z_id)[:, :, None, None] * normed + layer.fc2(z_id)[:, :, None, None]
    mask = torch.sigmoid(F.conv2d(normed, layer.conv_h.weight, layer.conv_h.bias))
    expected = (1 - mask) * attr_part + mask * id_part
    torch.testing.assert_close(layer(h, z_attr, z_id), expected, rtol=1e-5, atol=1e-5)


def test_ghosts_initialisation():
    model = AEINet(AEINetConfig("unet", num_blocks=1, c_id=64, width=8))
    init_aeinet(model)
    fc = model.generator.AADBlk1.add_blocks[0].fc1
    assert fc.weight.std().item() == pytest.approx(0.001, rel=0.1) and not fc.bias.any()
    conv = model.generator.AADBlk1.add_blocks[2]  # 3x3, 256 -> 256
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (2 * 256 * 9)), rel=0.05)
    bn = model.encoder.conv7[1]
    assert torch.equal(bn.weight, torch.ones_like(bn.weight)) and not bn.bias.any()

    resnet = AEINet(AEINetConfig("resnet", num_blocks=1, c_id=64, width=8))
    init_aeinet(resnet)
    stage_conv = resnet.encoder.layer5[0].conv2  # 3x3, 128 -> 128
    assert stage_conv.weight.std().item() == pytest.approx(math.sqrt(2 / (9 * 128)), rel=0.05)
    aad_conv = resnet.generator.AADBlk1.add_blocks[2]
    assert aad_conv.weight.std().item() == pytest.approx(math.sqrt(2 / (2 * 256 * 9)), rel=0.05)


def test_config_round_trip_and_validation():
    config = AEINetConfig("linknet", num_blocks=3, c_id=128, width=8)
    assert AEINetConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert AEINetConfig() == AEINetConfig("unet", 2, 512, 32)
    with pytest.raises(ValueError, match="Unknown AEI-Net settings: depth"):
        AEINetConfig.from_dict({**config.to_dict(), "depth": 3})
    with pytest.raises(ValueError, match="backbone"):
        AEINetConfig("vgg")
    with pytest.raises(ValueError, match="at least 1"):
        AEINetConfig(num_blocks=0)
