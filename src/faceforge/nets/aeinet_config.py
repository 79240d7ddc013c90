"""The layout of an AEI-Net (:mod:`faceforge.nets.aeinet`), torch-free so the one-shot training
configuration and its command's --help read it without importing torch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from faceforge.settings_io import refuse_unknown_keys

Backbone = Literal["unet", "linknet", "resnet"]
BACKBONES: tuple[str, ...] = get_args(Backbone)


@dataclass(frozen=True, slots=True)
class AEINetConfig:
    """The layout of an AEI-Net.

    ``num_blocks``: AAD layers (each followed by ReLU and a 3x3 convolution) per AAD ResBlk; GHOST released
    1, 2 and 3. ``c_id``: the identity vector's length (512 for ArcFace). ``width``: channels of the first
    encoder level; every channel count is ``width / 32`` of the official one.
    """

    backbone: Backbone = "unet"
    num_blocks: int = 2
    c_id: int = 512
    width: int = 32

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(
                f"Unknown AEI-Net backbone '{self.backbone}'; choose one of: {', '.join(BACKBONES)}."
            )
        if min(self.num_blocks, self.c_id, self.width) < 1:
            raise ValueError("AEI-Net num_blocks, c_id and width must all be at least 1.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AEINetConfig:
        refuse_unknown_keys(cls, d, "AEI-Net")
        return cls(**d)
