"""ArcFace's improved ResNet (iResNet, InsightFace ``arcface_torch``) with its checkpoints' module layout.

GHOST embeds identities with ``iresnet100`` (``arcface_model/backbone.pth``); the parameter and buffer names
and shapes here equal that file's, so it loads with ``load_state_dict(strict=True)``.

Layout: a 3x3 stem convolution, BatchNorm and PReLU; four stages (widths ``w, 2w, 4w, 8w``), each opening
with a stride-2 block that has a 1x1 stride-2 projection shortcut; pre-activation blocks
(BN, 3x3 conv, BN, PReLU, 3x3 conv, BN, plus the shortcut, no activation after the sum); a head of
BatchNorm, flatten (``8w x 7 x 7``), a linear layer and a final BatchNorm1d whose output is the embedding.
All BatchNorm eps 1e-5.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from faceforge.errors import WeightsError
from faceforge.nets.layout import layout_difference, state_shapes

INPUT_SIZE = 112
_FINAL_SIZE = INPUT_SIZE // 16  # four stride-2 stages
_BN_EPS = 1e-5


class _IBasicBlock(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=_BN_EPS)
        self.conv1 = nn.Conv2d(cin, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=_BN_EPS)
        self.prelu = nn.PReLU(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes, eps=_BN_EPS)
        self.downsample = (
            nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes, eps=_BN_EPS)
            )
            if stride != 1 or cin != planes
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return y + (x if self.downsample is None else self.downsample(x))


class IResNet(nn.Module):
    """``forward(x)``: ``(B, 3, 112, 112)`` RGB in [-1, 1] → ``(B, embedding_size)``, the raw (not
    L2-normalised) output of the final BatchNorm1d."""

    # the four stages, added by name in __init__ (their state-dict keys are the upstream ones)
    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential
    layer4: nn.Sequential

    def __init__(
        self, layers: Sequence[int] = (3, 13, 30, 3), width: int = 64, embedding_size: int = 512
    ) -> None:
        super().__init__()
        if len(layers) != 4 or min(layers) < 1 or width < 1 or embedding_size < 1:
            raise ValueError(
                "An iResNet needs four stages of at least one block, and a positive width and size."
            )
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width, eps=_BN_EPS)
        self.prelu = nn.PReLU(width)
        cin = width
        for i, depth in enumerate(layers, start=1):
            planes = width * 2 ** (i - 1)
            blocks = [_IBasicBlock(cin, planes, stride=2)] + [
                _IBasicBlock(planes, planes, stride=1) for _ in range(depth - 1)
            ]
            self.add_module(f"layer{i}", nn.Sequential(*blocks))
            cin = planes
        self.bn2 = nn.BatchNorm2d(cin, eps=_BN_EPS)
        self.fc = nn.Linear(cin * _FINAL_SIZE * _FINAL_SIZE, embedding_size)
        self.features = nn.BatchNorm1d(embedding_size, eps=_BN_EPS)
        # ArcFace trains with the embedding's BatchNorm scale fixed at 1.
        nn.init.ones_(self.features.weight)
        self.features.weight.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.features(self.fc(torch.flatten(self.bn2(x), 1)))


def iresnet100() -> IResNet:
    """ArcFace iResNet-100: stages of 3, 13, 30 and 3 blocks, widths 64 to 512, 512-D embedding."""
    return IResNet((3, 13, 30, 3), 64, 512)


_BLOCK_KEY = re.compile(r"layer([1-4])\.(\d+)\.conv1\.weight")


def _infer_layout(state: Mapping[str, Tensor]) -> tuple[tuple[int, ...], int, int]:
    depths = [0, 0, 0, 0]
    for key in state:
        match = _BLOCK_KEY.fullmatch(key)
        if match:
            stage = int(match.group(1)) - 1
            depths[stage] = max(depths[stage], int(match.group(2)) + 1)
    return tuple(depths), state["conv1.weight"].shape[0], state["fc.weight"].shape[0]


def iresnet_from_state_dict(state: Mapping[str, Tensor]) -> IResNet:
    """An :class:`IResNet` sized from the keys and shapes of ``state`` and loaded with it strictly, in eval
    mode and float32 (the model takes over float32 tensors of ``state`` rather than copying them).

    Raises :class:`~faceforge.errors.WeightsError` when ``state`` is not an iResNet.
    """
    try:
        layers, width, embedding_size = _infer_layout(state)
        with torch.device("meta"):
            model = IResNet(layers, width, embedding_size)
    except (KeyError, AttributeError, ValueError):
        raise WeightsError("The weights are not an ArcFace iResNet identity network.") from None
    difference = layout_difference(state, state_shapes(model))
    if difference is not None:
        raise WeightsError(f"The weights are not an ArcFace iResNet identity network: {difference}.")
    model.load_state_dict(state, strict=True, assign=True)
    return model.float().eval()
