"""The trained-model swapper: contract, geometry shared with the dataset, learned mask, batching, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from faceforge.errors import InputError
from faceforge.geometry.alignment import TEMPLATES
from faceforge.nets.autoencoders import ARCHITECTURES, build_autoencoder, scaled
from faceforge.swappers.autoencoder import AutoencoderSwapper, model_geometry
from faceforge.swappers.registry import create_swapper
from faceforge.training.checkpoint import CheckpointStore
from faceforge.types import AlignedFace, Face


def _model_dir(tmp_path, arch: str):
    config = scaled(ARCHITECTURES[arch], 1 / 8)
    model = build_autoencoder(config)
    meta = {"model_config": __import__("json").dumps(config.to_dict())}
    CheckpointStore(tmp_path).save(7, model.state_dict(), {"iteration": 7}, loss=1.0, metadata=meta)
    return config, model


def _crop(size: int, seed: int) -> AlignedFace:
    rng = np.random.default_rng(seed)
    face = Face(box=np.zeros(4), score=1.0, landmarks=np.zeros((478, 3), np.float32))
    image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    return AlignedFace(image=image, matrix=np.eye(2, 3), landmarks=face.landmarks, face=face)


@pytest.mark.parametrize("arch", ["original", "dfaker"])
def test_swaps_a_batch_through_the_other_decoder(tmp_path, arch):
    config, model = _model_dir(tmp_path, arch)
    swapper = AutoencoderSwapper(tmp_path, "a2b", device="cpu", batch_size=2)
    assert swapper.template is TEMPLATES["full-face"] and swapper.iteration == 7
    assert (
        swapper.crop_size
        == model_geometry(config)[0]
        == round(max(config.input_size, config.output_size) / 0.8)
    )
    crops = [_crop(swapper.crop_size, i) for i in range(3)]
    results = swapper.swap(crops, swapper.prepare_source(None))
    assert len(results) == 3
    _, lo, work = model_geometry(config)
    for crop, result in zip(crops, results, strict=True):
        assert result.image.shape == crop.image.shape and result.mask.shape == crop.image.shape[:2]
        assert result.mask.dtype == np.float32 and result.mask.min() >= 0.0 and result.mask.max() <= 1.0
        assert np.array_equal(result.image[:lo], crop.image[:lo])  # outside the covered square: untouched
        assert result.mask[0, 0] == 0.0
    # The covered square holds decoder B's output for the same input.
    region = crops[0].image[lo : lo + work, lo : lo + work]
    x = torch.from_numpy(region).permute(2, 0, 1)[None].float() / 255
    if config.input_size != work:
        x = torch.nn.functional.interpolate(x, size=config.input_size, mode="area")
    with torch.no_grad():
        rgb, mask = model.eval()(x, "b")
    if config.output_size == work:
        expected = (rgb[0].permute(1, 2, 0).clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
        got = results[0].image[lo : lo + work, lo : lo + work].astype(int)
        # Batched float sums and OpenCV's uint8 area resize round differently: a level or so.
        diff = np.abs(got - expected)
        assert diff.mean() < 0.5 and diff.max() <= 8
    assert (mask is not None) == config.learn_mask
    plain = AutoencoderSwapper(tmp_path, "b2a", device="cpu", learned_mask=False).swap(crops[:1])[0]
    assert plain.mask[swapper.crop_size // 2, swapper.crop_size // 2] == pytest.approx(1.0)


def test_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="--model"):
        create_swapper("autoencoder")
    with pytest.raises(InputError, match="does not exist"):
        AutoencoderSwapper(tmp_path / "missing")
    with pytest.raises(InputError, match="no latest checkpoint"):
        AutoencoderSwapper(tmp_path)
    _model_dir(tmp_path, "original")
    with pytest.raises(ValueError, match="direction"):
        AutoencoderSwapper(tmp_path, "sideways")
    assert dataclasses.is_dataclass(AutoencoderSwapper(tmp_path, device="cpu").config)
