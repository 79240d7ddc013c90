"""Inversion, mixing, the identity-loss swap and paste-back on a small random generator (64 px, narrow):
the behaviour each promises, not image quality (no trained weights are available offline)."""

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from faceforge.compose.compositor import Compositor
from faceforge.latent.checkpoints import LoadedGenerator
from faceforge.latent.editor import (
    LatentEditor,
    align_photo,
    background_weight,
    face_inputs,
    paste_back,
    to_images,
)
from faceforge.latent.losses import ArcFaceIdentity
from faceforge.latent.mix import mix_latents, mixed_rows
from faceforge.latent.optimise import Objective, optimise_latent
from faceforge.latent.options import EXPRESSION_TRANSFER, INVERT_DEFAULTS, SWAP_DEFAULTS, MixOptions
from faceforge.nets.iresnet import IResNet, iresnet_from_state_dict
from faceforge.nets.stylegan2 import GeneratorConfig, ModulatedConv2d, StyleGAN2Generator

SMALL = GeneratorConfig(size=64, style_dim=64, n_mlp=2, channels=(64, 64, 32, 32, 16))


@pytest.fixture(scope="module")
def editor() -> LatentEditor:
    torch.manual_seed(0)
    generator = StyleGAN2Generator(SMALL).eval().requires_grad_(False)
    return LatentEditor(LoadedGenerator(generator, generator.mean_latent(512), (), True))


@pytest.fixture(scope="module")
def pair(photo, analyser):
    target, source = photo("face_frontal_a.jpg"), photo("face_darkskin_i.jpg")
    return (
        (target, align_photo(analyser.faces(target), target, SMALL.size, "target")),
        (source, align_photo(analyser.faces(source), source, SMALL.size, "source")),
    )


@pytest.mark.slow
def test_inversion_reproduces_a_sample_of_known_latent(editor: LatentEditor) -> None:
    """Pixel and MS-SSIM terms only (the dlib features need a face): from the average latent to a
    generator's own sample, the reconstruction error falls under 5 % of where it started."""
    generator = editor.generator.generator
    w = generator.mapping(torch.randn(2, SMALL.style_dim, generator=torch.Generator().manual_seed(1)))
    known = w[:, None].expand(-1, SMALL.n_latent, -1)
    with torch.no_grad():
        targets = generator.synthesis(known)
    options = replace(INVERT_DEFAULTS, steps=40, lr=0.05, optimise_noise=False)
    result = optimise_latent(generator, editor.average(2), Objective(targets), options)
    start, end = result.start["reconstruction"], result.end["reconstruction"]
    assert torch.all(end < 0.05 * start), (start, end)
    assert torch.all(end < 0.06)


def _modulation_styles(generator: StyleGAN2Generator, wplus: torch.Tensor) -> list[torch.Tensor]:
    """Each modulated convolution's style vector, in W+ row order (conv1, to_rgb1, then per resolution
    up-conv, conv, to_rgb): the row that drives layer i is row i except that the up-conv and the previous
    to_rgb share one."""
    seen: list[tuple[ModulatedConv2d, torch.Tensor]] = []
    hooks = [
        module.modulation.register_forward_hook(lambda mod, args, out, m=module: seen.append((m, out)))
        for module in generator.modules()
        if isinstance(module, ModulatedConv2d)
    ]
    with torch.no_grad():
        generator.synthesis(wplus)
    for hook in hooks:
        hook.remove()
    return [out for _, out in seen]


def test_mixing_rows_changes_exactly_those_layers_styles(editor: LatentEditor) -> None:
    generator = editor.generator.generator
    torch.manual_seed(2)
    person, reference = (generator.mapping(torch.randn(1, 64))[:, None].expand(-1, 10, -1) for _ in range(2))
    options = MixOptions(first=3, last=6, psi=0.0)
    mixed = mix_latents(person, reference, options)
    rows = mixed_rows(options, SMALL.n_latent)
    assert list(rows) == [2, 3, 4, 5]
    assert torch.equal(mixed[:, 2:6], reference[:, 2:6])
    assert torch.equal(mixed[:, :2], person[:, :2]) and torch.equal(mixed[:, 6:], person[:, 6:])
    # Layer → W+ row: conv1 0, to_rgb1 1, then (up-conv 2k+1, conv 2k+2, to_rgb 2k+3) in forward order.
    layer_rows = [0, 1] + [
        row for k in range(len(generator.to_rgbs)) for row in (2 * k + 1, 2 * k + 2, 2 * k + 3)
    ]
    before, after = _modulation_styles(generator, person), _modulation_styles(generator, mixed)
    for row, a, b in zip(layer_rows, before, after, strict=True):
        assert torch.equal(a, b) == (row not in rows), row
    half = mix_latents(person, reference, replace(EXPRESSION_TRANSFER, last=10))
    assert torch.allclose(half[:, 4], (person[:, 4] + reference[:, 4]) / 2)
    with pytest.raises(ValueError, match="past the generator's 10 W\\+ rows"):
        mix_latents(person, reference, MixOptions(first=11, last=18))


@pytest.mark.slow
def test_identity_swap_moves_toward_the_source_and_keeps_the_background(editor: LatentEditor, pair) -> None:
    (target, target_aligned), (_, source_aligned) = pair
    targets, sources = face_inputs([target_aligned]), face_inputs([source_aligned])
    inversion = editor.invert(targets, options=replace(INVERT_DEFAULTS, steps=12, lr=0.05))
    assert inversion.end["reconstruction"][0] < 0.5 * inversion.start["reconstruction"][0]
    compositor = Compositor()
    background = background_weight(target, target_aligned, compositor)
    options = replace(SWAP_DEFAULTS, steps=12, lr=0.05)
    swapped = editor.swap(targets, sources, inversion, background, options)
    start, end = swapped.start["identity"][0], swapped.end["identity"][0]
    assert end < 0.75 * start, (start, end)
    # The background's reconstruction error stays within 25 % of the inversion's.
    assert swapped.end["reconstruction"][0] < 1.25 * swapped.start["reconstruction"][0]

    crop = to_images(editor.render(swapped.wplus, swapped.noises))[0]
    pasted = paste_back(target, target_aligned, crop, compositor)
    mask = compositor.face_mask(target, target_aligned.aligned_face())
    # Every frame pixel the (blurred) mask does not reach is bit-identical.
    inverse = cv2.invertAffineTransform(target_aligned.matrix)
    reach = cv2.warpAffine(mask, inverse, target.shape[1::-1], flags=cv2.INTER_LINEAR) > 0
    reach = cv2.dilate(reach.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    changed = np.any(pasted != target, axis=2)
    assert changed.sum() > 0
    assert not np.any(changed & ~reach)
    compositor.close()


@pytest.mark.slow
def test_arcface_identity_swap_lowers_the_arcface_distance(editor: LatentEditor, pair) -> None:
    """With an ArcFace network (a small random iResNet in the insightface layout, loaded the way user
    weights are), the identity term is the distance between its normalised embeddings."""
    (_, target_aligned), (_, source_aligned) = pair
    torch.manual_seed(3)
    backbone = iresnet_from_state_dict(IResNet((1, 1, 1, 1), 8, 32).state_dict())
    arcface = LatentEditor(
        editor.generator, face_loss=editor._face_loss(), identity=ArcFaceIdentity(backbone)
    )
    targets, sources = face_inputs([target_aligned]), face_inputs([source_aligned])
    assert targets.arcface.shape == (1, 2, 3)
    inversion = arcface.invert(targets, options=replace(INVERT_DEFAULTS, steps=4, lr=0.05))
    swapped = arcface.swap(targets, sources, inversion, None, replace(SWAP_DEFAULTS, steps=10, lr=0.05))
    start, end = swapped.start["identity"][0], swapped.end["identity"][0]
    assert 0 < end < 0.75 * start, (start, end)
