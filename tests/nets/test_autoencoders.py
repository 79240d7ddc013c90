"""Swap autoencoders: every named layout builds, has the right outputs and shares the right weights."""

import dataclasses
import json

import pytest
import torch

from faceforge.nets.autoencoders import (
    ARCHITECTURES,
    AutoencoderConfig,
    SwapAutoencoder,
    build_autoencoder,
    scaled,
)
from faceforge.nets.blocks import Upscale
from faceforge.nets.init import INITIALISERS

SMALL = 1 / 8


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_each_architecture_builds_with_the_right_outputs(arch):
    config = scaled(ARCHITECTURES[arch], SMALL)
    assert config.arch == arch
    model = build_autoencoder(config)
    assert isinstance(model, SwapAutoencoder) and model.config is config
    x = torch.rand(2, 3, config.input_size, config.input_size)
    for side in ("a", "b"):
        rgb, mask = model(x, side)
        assert rgb.shape == (2, 3, config.output_size, config.output_size)
        assert rgb.dtype == torch.float32 and rgb.min() >= 0.0 and rgb.max() <= 1.0
        if config.learn_mask:
            assert mask is not None and mask.shape == (2, 1, config.output_size, config.output_size)
            assert mask.min() >= 0.0 and mask.max() <= 1.0
        else:
            assert mask is None
    assert not torch.equal(model(x, "a")[0], model(x, "b")[0])
    with pytest.raises(ValueError, match="side"):
        model(x, "c")


@pytest.mark.slow
def test_named_layouts():
    assert ARCHITECTURES["dfaker"].input_size == 64 and ARCHITECTURES["dfaker"].output_size == 128
    assert ARCHITECTURES["dfaker"].learn_mask and ARCHITECTURES["iae"].intermediate
    for name in ("lightweight", "original", "iae"):
        assert (ARCHITECTURES[name].input_size, ARCHITECTURES[name].output_size) == (64, 64)
    sizes = {
        n: sum(p.numel() for p in SwapAutoencoder(c).encoder.parameters()) for n, c in ARCHITECTURES.items()
    }
    assert sizes["lightweight"] < sizes["original"] / 3


def _touched(model: SwapAutoencoder, side: str) -> set[str]:
    """Top-level parts of the model that get a gradient from one side's output."""
    model.zero_grad(set_to_none=True)
    x = torch.rand(2, 3, model.config.input_size, model.config.input_size)
    rgb, mask = model(x, side)
    (rgb.mean() + (0 if mask is None else mask.mean())).backward()
    return {name.split(".")[0] for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("arch", ["original", "dfaker"])
def test_encoder_is_shared_and_decoders_are_separate(arch):
    model = build_autoencoder(scaled(ARCHITECTURES[arch], SMALL))
    assert _touched(model, "a") == {"encoder", "decoder_a"}
    assert _touched(model, "b") == {"encoder", "decoder_b"}


def test_iae_shares_encoder_inter_both_and_decoder():
    model = build_autoencoder(scaled(ARCHITECTURES["iae"], SMALL))
    assert _touched(model, "a") == {"encoder", "inter_a", "inter_both", "decoder"}
    assert _touched(model, "b") == {"encoder", "inter_b", "inter_both", "decoder"}


def test_scaled_keeps_the_layout():
    config = scaled(ARCHITECTURES["original"], 0.25)
    assert (config.encoder_width, config.decoder_width, config.dense) == (32, 16, 256)
    assert (
        dataclasses.replace(config, encoder_width=128, decoder_width=64, dense=1024)
        == ARCHITECTURES["original"]
    )
    assert scaled(ARCHITECTURES["original"], 1e-6).encoder_width == 1


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_config_json_round_trip(arch):
    config = dataclasses.replace(ARCHITECTURES[arch], init="icnr")
    assert AutoencoderConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_custom_sizes_and_bad_configs():
    custom = dataclasses.replace(ARCHITECTURES["custom"], input_size=96, output_size=192, encoder_width=8)
    model = build_autoencoder(dataclasses.replace(custom, decoder_width=4, dense=16))
    assert model(torch.rand(1, 3, 96, 96), "b")[0].shape == (1, 3, 192, 192)
    for bad in (
        {"input_size": 72},
        {"output_size": 100},
        {"output_size": 16},
        {"arch": "nope"},
        {"init": "xavier"},
        {"dense": 0},
    ):
        with pytest.raises(ValueError):
            dataclasses.replace(custom, **bad)
    with pytest.raises(ValueError, match="Unknown"):
        AutoencoderConfig.from_dict({**custom.to_dict(), "colour": True})


def test_icnr_upscalers_start_as_nearest_neighbour():
    model = build_autoencoder(dataclasses.replace(scaled(ARCHITECTURES["original"], SMALL), init="icnr"))
    upscale = next(m for m in model.modules() if isinstance(m, Upscale))
    out = upscale(torch.randn(1, upscale.conv.in_channels, 6, 6))
    assert torch.equal(out[..., 0::2, 0::2], out[..., 1::2, 1::2])
    assert torch.equal(out[..., 0::2, 0::2], out[..., 0::2, 1::2])


@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_initialisers_give_he_scale(name):
    model = build_autoencoder(dataclasses.replace(scaled(ARCHITECTURES["original"], 0.25), init=name))
    conv = model.encoder[0][2][0]  # third encoder convolution: 5x5, 64 -> 128 channels at 1/4 width
    fan_in = conv.weight[0].numel()
    expected = (2.0 / (1.0 + 0.1**2) / fan_in) ** 0.5
    assert conv.weight.std().item() == pytest.approx(expected, rel=0.1)
    assert torch.count_nonzero(conv.bias) == 0
