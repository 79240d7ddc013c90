"""Strict loading of StyleGAN2 and e4e checkpoints in the reference layouts (shared/reference/*.json):
random tensors with the published keys and shapes load with strict=True; the buffers public copies lack
(noise maps, FIR kernels) are rebuilt and said; anything else is one sentence naming the key."""

import argparse
import json
from pathlib import Path, PurePosixPath

import pytest
import torch

from faceforge.errors import WeightsError
from faceforge.latent.checkpoints import (
    LoadedGenerator,
    e4e_config_from_state,
    generator_config_from_state,
    load_e4e,
    load_generator,
    read_checkpoint,
)
from faceforge.nets.e4e import FFHQ_E4E, E4EConfig, E4EEncoder
from faceforge.nets.stylegan2 import FFHQ_256, FFHQ_1024, GeneratorConfig, StyleGAN2Generator

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
TINY = GeneratorConfig(size=16, style_dim=16, n_mlp=2, channels=(16, 8, 8))


def _reference(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text())["variants"]


def _random_state(layout: dict[str, list[int]], prefix: str = "") -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        key[len(prefix) :]: torch.randn(shape, generator=generator) if shape else torch.tensor(0)
        for key, shape in layout.items()
        if key.startswith(prefix)
    }


@pytest.mark.parametrize(("variant", "config"), [("ffhq_1024_cm2", FFHQ_1024), ("256_cm2", FFHQ_256)])
def test_generator_layout_equals_the_reference_key_list(variant: str, config: GeneratorConfig) -> None:
    reference = _reference("stylegan2_generator_keys.json")[variant]
    with torch.device("meta"):
        generator = StyleGAN2Generator(config)
    ours = [(key, list(value.shape)) for key, value in generator.state_dict().items()]
    assert ours == list(reference["state_dict"].items())
    assert sum(p.numel() for p in generator.parameters()) == reference["n_parameters"]
    assert config.n_latent == reference["n_latent"]


def test_e4e_layout_equals_the_reference_key_list() -> None:
    reference = _reference("e4e_encoder_keys.json")["e4e_ffhq_encode"]["state_dict"]
    with torch.device("meta"):
        encoder = E4EEncoder(FFHQ_E4E)
    ours = [("encoder." + key, list(value.shape)) for key, value in encoder.state_dict().items()]
    assert ours == [(key, shape) for key, shape in reference.items() if key.startswith("encoder.")]


@pytest.mark.slow
def test_256_generator_from_a_train_py_checkpoint_without_noise_buffers(tmp_path: Path) -> None:
    """550000.pt's case: g_ema without the 13 noise maps, 'args' a pickled argparse Namespace."""
    layout = _reference("stylegan2_generator_keys.json")["256_cm2"]["state_dict"]
    g_ema = {key: value for key, value in _random_state(layout).items() if not key.startswith("noises.")}
    path = tmp_path / "550000.pt"
    torch.save({"g_ema": g_ema, "args": argparse.Namespace(size=256, channel_multiplier=2)}, path)
    loaded = load_generator(path)
    assert loaded.generator.config == FFHQ_256
    assert len(loaded.regenerated) == 13 and all(key.startswith("noises.") for key in loaded.regenerated)
    assert loaded.notes()[0] == "The generator weights lack 13 fixed noise maps; fresh ones were drawn."
    assert loaded.latent_avg_computed and loaded.latent_avg.shape == (1, 512)
    state = loaded.generator.state_dict()
    assert torch.equal(state["convs.3.conv.weight"], g_ema["convs.3.conv.weight"])


@pytest.mark.slow
def test_1024_generator_without_kernels_keeps_its_latent_avg(tmp_path: Path) -> None:
    layout = _reference("stylegan2_generator_keys.json")["ffhq_1024_cm2"]["state_dict"]
    g_ema = {key: value for key, value in _random_state(layout).items() if not key.endswith(".kernel")}
    latent_avg = torch.randn(512)
    path = tmp_path / "stylegan2-ffhq-config-f.pt"
    torch.save({"g_ema": g_ema, "latent_avg": latent_avg}, path)
    loaded = load_generator(path)
    assert loaded.generator.config == FFHQ_1024
    assert len(loaded.regenerated) == 16
    assert loaded.notes() == ["The generator weights lack 16 FIR kernels; they were rebuilt (constants)."]
    assert torch.equal(loaded.latent_avg[0], latent_avg)
    kernel = loaded.generator.state_dict()["to_rgbs.3.upsample.kernel"]
    assert torch.isclose(kernel.sum(), torch.tensor(4.0))


def _tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return StyleGAN2Generator(TINY).state_dict()


def test_a_bare_state_dict_in_safetensors_loads(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = _tiny_state()
    save_file({**state, "latent_avg": torch.ones(16)}, str(tmp_path / "g.safetensors"))
    loaded = load_generator(tmp_path / "g.safetensors")
    assert loaded.generator.config == TINY and torch.equal(loaded.latent_avg, torch.ones(1, 16))
    with pytest.raises(WeightsError, match="holds no StyleGAN2 generator"):
        save_file({"weight": torch.ones(2)}, str(tmp_path / "other.safetensors"))
        load_generator(tmp_path / "other.safetensors")


def test_a_missing_conv_weight_is_one_sentence_naming_it(tmp_path: Path) -> None:
    state = _tiny_state()
    del state["convs.1.conv.weight"]
    path = tmp_path / "broken.pt"
    torch.save({"g_ema": state}, path)
    with pytest.raises(WeightsError) as caught:
        load_generator(path)
    assert (
        str(caught.value) == "The generator weights do not match its layout: they lack 'convs.1.conv.weight'."
    )


def test_a_misshapen_or_extra_tensor_is_named(tmp_path: Path) -> None:
    state = _tiny_state()
    state["conv1.activate.bias"] = torch.zeros(3)
    torch.save({"g_ema": state}, tmp_path / "shape.pt")
    with pytest.raises(WeightsError, match=r"'conv1.activate.bias' is \[3\] where \[16\] is expected"):
        load_generator(tmp_path / "shape.pt")
    state = _tiny_state()
    state["stray.weight"] = torch.zeros(1)
    torch.save({"g_ema": state}, tmp_path / "extra.pt")
    with pytest.raises(WeightsError, match=r"they hold an unexpected 'stray\.weight'"):
        load_generator(tmp_path / "extra.pt")


def test_nan_weights_are_refused(tmp_path: Path) -> None:
    state = _tiny_state()
    state["convs.2.conv.weight"][0, 0, 0, 0, 0] = float("nan")
    torch.save({"g_ema": state}, tmp_path / "nan.pt")
    with pytest.raises(WeightsError, match=r"unusable: 'convs\.2\.conv\.weight' holds NaN"):
        load_generator(tmp_path / "nan.pt")


def test_pickled_objects_outside_the_allow_list_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "pickled.pt"
    torch.save({"g_ema": _tiny_state(), "path": PurePosixPath("/x")}, path)
    with pytest.raises(
        WeightsError,
        match=r"refused: it holds a pickled Python object \(pathlib\.PurePosixPath\)",
    ):
        read_checkpoint(path)


def test_e4e_reference_state_dict_loads_strictly() -> None:
    """The whole 792-tensor state dict of the reference layout (meta tensors: shapes without memory): the
    layouts read from it are FFHQ e4e and config-f, and both parts load into our modules with strict=True."""
    layout = _reference("e4e_encoder_keys.json")["e4e_ffhq_encode"]["state_dict"]
    state = {key: torch.empty(shape, device="meta") for key, shape in layout.items()}
    encoder_state = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
    decoder_state = {k.removeprefix("decoder."): v for k, v in state.items() if k.startswith("decoder.")}
    assert e4e_config_from_state(encoder_state) == FFHQ_E4E
    assert generator_config_from_state(decoder_state) == FFHQ_1024
    with torch.device("meta"):
        encoder, decoder = E4EEncoder(FFHQ_E4E), StyleGAN2Generator(FFHQ_1024)
    encoder.load_state_dict(encoder_state, strict=True, assign=True)
    decoder.load_state_dict(decoder_state, strict=True, assign=True)


def test_a_small_e4e_checkpoint_loads_with_its_latent_avg(tmp_path: Path) -> None:
    """The e4e file structure (state_dict with encoder. and decoder. keys, opts a plain dict, latent_avg
    [n_styles, D]) on a small encoder and generator."""
    torch.manual_seed(0)
    config = E4EConfig(input_size=64, n_styles=10, style_dim=16, units=(1, 1, 1, 1), widths=(16, 24, 32, 16))
    generator_config = GeneratorConfig(size=64, style_dim=16, n_mlp=2, channels=(16, 16, 8, 8, 8))
    encoder, generator = E4EEncoder(config), StyleGAN2Generator(generator_config)
    state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
    state |= {f"decoder.{k}": v for k, v in generator.state_dict().items()}
    latent_avg = torch.randn(10, 16)
    path = tmp_path / "e4e_small.pt"
    torch.save(
        {"state_dict": state, "opts": {"encoder_type": "Encoder4Editing"}, "latent_avg": latent_avg}, path
    )
    loaded_generator = load_generator(path)
    assert loaded_generator.generator.config == generator_config and not loaded_generator.regenerated
    loaded = load_e4e(path, loaded_generator)
    assert loaded.encoder.config == config and torch.equal(loaded.latent_avg, latent_avg)
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        codes = loaded.encoder(images, loaded.latent_avg)
        assert torch.allclose(codes, encoder.eval()(images) + latent_avg)
    assert codes.shape == (2, 10, 16)
    with pytest.raises(WeightsError, match="gives 10 W\\+ rows, but the generator takes 6"):
        other = StyleGAN2Generator(TINY)
        load_e4e(path, LoadedGenerator(other, torch.zeros(1, 16), (), False))
