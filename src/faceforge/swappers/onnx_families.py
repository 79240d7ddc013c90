"""The families of ONNX face swappers faceforge runs, and how each one is fed.

All of them take an aligned target crop (input ``target``, ``[B, 3, S, S]`` float) and a 512-d identity
vector (input ``source``, ``[B, 512]``) and return the swapped crop ``[B, 3, S, S]``. They differ in the
crop template, the pixel range, whether the output must be de-normalised, and how the ArcFace embedding
of the source becomes the ``source`` vector. The values follow facefusion's runs of the same published
files (``docs/onnx-swappers.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class PixelNorm:
    """Model pixels are ``(rgb / 255 - mean) / std`` per channel."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


UNIT_RANGE = PixelNorm((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # [0, 1]
SIGNED_RANGE = PixelNorm((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # [-1, 1]
IMAGENET = PixelNorm((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True, slots=True)
class OnnxFamily:
    """One family of ONNX swappers.

    ``sizes`` pairs each crop side the family is published at with its pixel normalisation (the first is
    the default for a model whose side is not fixed). ``identity_map`` says how the averaged source
    embedding becomes the ``source`` input: through the swapper graph's own last initializer (``emap``)
    or through a separate converter network. The defaults name catalog entries used when the weights
    are a file the catalog does not know.
    """

    name: str
    template: str  # a key of faceforge.geometry.alignment.TEMPLATES
    sizes: tuple[tuple[int, PixelNorm], ...]
    denormalise_output: bool  # output is in the input's normalised range (else RGB in [0, 1])
    identity_map: Literal["emap", "converter"]
    normalise_after_map: bool  # L2-normalise the source vector after the emap or converter
    default_identity: str
    default_converter: str | None

    @property
    def default_size(self) -> int:
        return self.sizes[0][0]

    def pixel_norm(self, size: int) -> PixelNorm | None:
        """The normalisation of the family's ``size``-px models, or None when it has none of that size."""
        return next((norm for side, norm in self.sizes if side == size), None)


FAMILIES: dict[str, OnnxFamily] = {
    # InsightFace's inswapper: source = normalised embedding · emap, not re-normalised (facefusion's
    # convention). InsightFace's own INSwapper divides that product by its norm again: the same direction,
    # a different length.
    "inswapper": OnnxFamily(
        name="inswapper",
        template="arcface_128",
        sizes=((128, UNIT_RANGE),),
        denormalise_output=False,
        identity_map="emap",
        normalise_after_map=False,
        default_identity="arcface-w600k-r50",
        default_converter=None,
    ),
    # SimSwap: the raw embedding through the crossface converter, then L2-normalised. The official 256
    # export takes ImageNet-normalised pixels, the unofficial 512 one plain [0, 1]; both return [0, 1].
    "simswap": OnnxFamily(
        name="simswap",
        template="arcface_112_v1",
        sizes=((256, IMAGENET), (512, UNIT_RANGE)),
        denormalise_output=False,
        identity_map="converter",
        normalise_after_map=True,
        default_identity="arcface-w600k-r50",
        default_converter="crossface-simswap",
    ),
    # GHOST (AEI-Net): [-1, 1] in and out (tanh); the converter's output goes in as it is, the way GHOST
    # feeds its own ArcFace's raw output.
    "ghost": OnnxFamily(
        name="ghost",
        template="arcface_112_v1",
        sizes=((256, SIGNED_RANGE),),
        denormalise_output=True,
        identity_map="converter",
        normalise_after_map=False,
        default_identity="arcface-w600k-r50",
        default_converter="crossface-ghost",
    ),
}
