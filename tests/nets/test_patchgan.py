"""Multiscale PatchGAN: GHOST's discriminator layout, strict loading, output sizes and scale order."""

import json
from pathlib import Path

import pytest
import torch

from faceforge.nets.patchgan import MultiscaleDiscriminator

REFERENCE = json.loads(
    (
        Path(__file__).resolve().parents[3] / "shared" / "reference" / "ghost_discriminator_keys.json"
    ).read_text()
)


def test_the_official_discriminator_has_ghosts_layout_and_output_sizes():
    with torch.device("meta"):
        model = MultiscaleDiscriminator()
        logits = model(torch.empty(2, 3, 256, 256))
    state = model.state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == REFERENCE["state_dict"]
    assert list(state) == list(REFERENCE["state_dict"])
    assert len(state) == 42 and not list(model.buffers())
    assert sum(p.numel() for p in model.parameters()) == REFERENCE["n_parameters"]
    expected = [[2, *shape[0][1:]] for shape in REFERENCE["_meta"]["output_shapes_for_1x3x256x256_input"]]
    assert [list(logit.shape) for logit in logits] == expected == [[2, 1, 11, 11], [2, 1, 7, 7], [2, 1, 5, 5]]


def test_a_random_checkpoint_loads_strictly():
    generator = torch.Generator().manual_seed(0)
    state = {key: torch.randn(shape, generator=generator) for key, shape in REFERENCE["state_dict"].items()}
    with torch.device("meta"):
        model = MultiscaleDiscriminator()
    model = model.to_empty(device="cpu")
    model.load_state_dict(state, strict=True)
    assert torch.equal(model.layer1[14].weight, state["layer1.14.weight"])


def test_layer0_sees_the_coarsest_scale_and_logits_come_finest_first():
    torch.manual_seed(0)
    model = MultiscaleDiscriminator(ndf=4).eval()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    pool = torch.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
    with torch.no_grad():
        logits = model(x)
        direct = [model.layer2(x), model.layer1(pool(x)), model.layer0(pool(pool(x)))]
    assert [tuple(logit.shape) for logit in logits] == [(1, 1, 11, 11), (1, 1, 7, 7), (1, 1, 5, 5)]
    for got, want in zip(logits, direct, strict=True):
        torch.testing.assert_close(got, want)


def test_other_depths_and_scale_counts():
    model = MultiscaleDiscriminator(input_nc=4, ndf=2, n_layers=3, num_d=2)
    assert [name for name, _ in model.named_children()] == ["layer0", "layer1", "downsample"]
    convs = [m for m in model.layer0 if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (4, 2, 2),
        (2, 4, 2),
        (4, 8, 2),
        (8, 16, 1),
        (16, 1, 1),
    ]
    logits = model(torch.rand(1, 4, 64, 64))
    assert [tuple(logit.shape) for logit in logits] == [(1, 1, 11, 11), (1, 1, 7, 7)]
    with pytest.raises(ValueError, match="at least 1"):
        MultiscaleDiscriminator(num_d=0)
