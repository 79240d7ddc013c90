"""AEI-Net (FaceShifter's generator) with the module layout of the official GHOST checkpoints.

``AEINet(target, z_id)`` swaps the identity ``z_id`` (a raw ArcFace embedding) into the face ``target``:

- ``encoder`` (the multi-level attribute encoder) turns the 256 px target into eight attribute maps, from
  2x2 to 256x256. ``unet``: seven 4x4 stride-2 convolutions down, six transposed convolutions up, each
  concatenated with the encoder feature of its size, and a final bilinear x2; ``linknet``: the same with
  the skips added instead of concatenated; ``resnet``: a Bottleneck ResNet whose stage outputs give the
  maps. Every encoder convolution is followed by BatchNorm.
- ``generator`` lifts ``z_id`` to a 2x2 map with a transposed convolution, then runs eight AAD ResBlks,
  doubling the size (bilinear, ``align_corners=True``) after each of the first seven. An AAD layer
  instance-normalises its input and blends an attribute-driven and an identity-driven modulation of it with
  a learned per-pixel mask. The output goes through ``tanh``.

Parameter and buffer names and shapes equal GHOST's (``G_unet_1block/2blocks/3blocks.pth``), so those files
load with ``load_state_dict(strict=True)``. ``AEINetConfig.width`` scales every channel count
(``width / 32`` of the official one) for tiny CPU models; the official networks have ``width=32``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faceforge.errors import WeightsError
from faceforge.nets.aeinet_config import AEINetConfig  # defined torch-free there, used from here too
from faceforge.nets.layout import layout_difference, state_shapes

ENCODER_SLOPE = 0.1  # LeakyReLU slope of the U-Net/LinkNet encoder
LEVELS = 8  # attribute maps (and AAD ResBlks), 2x2 to 256x256
INPUT_SIZE = 256
DEFAULT_CONFIG = AEINetConfig()


# --- attribute encoders -------------------------------------------------------------------------------


def _down(cin: int, cout: int) -> nn.Sequential:
    """4x4 stride-2 convolution, BatchNorm, LeakyReLU: halves the size (keys ``.0`` and ``.1``)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(ENCODER_SLOPE),
    )


class _Up(nn.Module):
    """4x4 stride-2 transposed convolution, BatchNorm, LeakyReLU, then the skip joined on."""

    def __init__(self, cin: int, cout: int, concat: bool) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.lrelu = nn.LeakyReLU(ENCODER_SLOPE)
        self.concat = concat

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        up = self.lrelu(self.bn(self.deconv(x)))
        return torch.cat((up, skip), dim=1) if self.concat else up + skip


class UNetEncoder(nn.Module):
    """The U-Net (``concat=True``) or LinkNet (``concat=False``) attribute encoder."""

    def __init__(self, width: int, concat: bool) -> None:
        super().__init__()
        features = [width * 2**i for i in range(6)]  # conv1..conv6 outputs; conv7 keeps conv6's channels
        cin = 3
        for i, cout in enumerate([*features, features[-1]], start=1):
            self.add_module(f"conv{i}", _down(cin, cout))
            cin = cout
        skips = features[::-1]
        joined = []
        for i, skip in enumerate(skips, start=1):
            self.add_module(f"deconv{i}", _Up(cin, skip, concat))
            cin = 2 * skip if concat else skip
            joined.append(cin)
        self.out_channels: tuple[int, ...] = (features[-1], *joined, joined[-1])

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        features = []
        for i in range(1, 8):
            x = getattr(self, f"conv{i}")(x)
            features.append(x)
        attrs = [features.pop()]
        for i in range(1, 7):
            attrs.append(getattr(self, f"deconv{i}")(attrs[-1], features.pop()))
        attrs.append(F.interpolate(attrs[-1], scale_factor=2.0, mode="bilinear", align_corners=True))
        return tuple(attrs)


class _Bottleneck(nn.Module):
    """ResNet bottleneck (1x1, 3x3 with the stride, 1x1 to 4x the planes) with a projection shortcut on the
    stride-2 first block of each stage."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNetEncoder(nn.Module):
    """Bottleneck ResNet attribute encoder: a two-convolution stem (7x7 at full size, 7x7 stride 2) and six
    stride-2 stages of two blocks; the maps are the stage outputs, deepest first, then the two stem
    outputs. Its channel counts equal the U-Net encoder's."""

    STAGE_PLANES = (1, 2, 4, 8, 16, 8)  # times width
    BLOCKS_PER_STAGE = 2

    def __init__(self, width: int) -> None:
        super().__init__()
        stem = 2 * width
        self.conv0 = nn.Conv2d(3, stem, 7, padding=3, bias=False)
        self.bn0 = nn.BatchNorm2d(stem)
        self.conv1 = nn.Conv2d(stem, stem, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU()
        cin, stage_out = stem, []
        for i, multiple in enumerate(self.STAGE_PLANES, start=1):
            planes = width * multiple
            blocks = [_Bottleneck(cin, planes, stride=2)]
            cin = planes * _Bottleneck.expansion
            blocks += [_Bottleneck(cin, planes, stride=1) for _ in range(self.BLOCKS_PER_STAGE - 1)]
            self.add_module(f"layer{i}", nn.Sequential(*blocks))
            stage_out.append(cin)
        self.out_channels: tuple[int, ...] = (*stage_out[::-1], stem, stem)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        full = self.relu(self.bn0(self.conv0(x)))
        half = self.relu(self.bn1(self.conv1(full)))
        maps = [full, half]
        for i in range(1, len(self.STAGE_PLANES) + 1):
            maps.append(getattr(self, f"layer{i}")(maps[-1]))
        return tuple(maps[::-1])


# --- AAD generator ------------------------------------------------------------------------------------


class AADLayer(nn.Module):
    """Adaptive Attentional Denormalisation.

    With ``h`` instance-normalised: ``A = γ_att(z_attr)·h + β_att(z_attr)`` (1x1 convolutions),
    ``I = γ_id(z_id)·h + β_id(z_id)`` (linear layers, broadcast over the map),
    ``M = sigmoid(conv_h(h))``; the output is ``(1 − M)·A + M·I``.
    """

    def __init__(self, channels: int, c_attr: int, c_id: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_attr, channels, 1)
        self.conv2 = nn.Conv2d(c_attr, channels, 1)
        self.fc1 = nn.Linear(c_id, channels)
        self.fc2 = nn.Linear(c_id, channels)
        self.conv_h = nn.Conv2d(channels, 1, 1)
        self.norm = nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)

    def forward(self, h: Tensor, z_attr: Tensor, z_id: Tensor) -> Tensor:
        h = self.norm(h)
        attr_part = self.conv1(z_attr) * h + self.conv2(z_attr)
        id_part = self.fc1(z_id)[:, :, None, None] * h + self.fc2(z_id)[:, :, None, None]
        mask = torch.sigmoid(self.conv_h(h))
        return (1 - mask) * attr_part + mask * id_part


def _aad_unit(cin: int, cout: int, c_attr: int, c_id: int) -> list[nn.Module]:
    """AAD layer, ReLU, 3x3 convolution: one entry of ``add_blocks`` (three indices)."""
    return [AADLayer(cin, c_attr, c_id), nn.ReLU(), nn.Conv2d(cin, cout, 3, padding=1, bias=False)]


def _run_units(units: nn.ModuleList, x: Tensor, z_attr: Tensor, z_id: Tensor) -> Tensor:
    for i in range(0, len(units), 3):
        x = units[i + 2](units[i + 1](units[i](x, z_attr, z_id)))
    return x


class AADResBlk(nn.Module):
    """``num_blocks`` AAD units in a chain (the last one maps ``cin`` to ``cout``) plus a shortcut: the input
    itself when ``cin == cout``, otherwise one more AAD unit (``last_add_block``)."""

    def __init__(self, cin: int, cout: int, c_attr: int, c_id: int, num_blocks: int) -> None:
        super().__init__()
        units: list[nn.Module] = []
        for j in range(num_blocks):
            units += _aad_unit(cin, cout if j == num_blocks - 1 else cin, c_attr, c_id)
        self.add_blocks = nn.ModuleList(units)
        self.last_add_block = nn.ModuleList(_aad_unit(cin, cout, c_attr, c_id)) if cin != cout else None

    def forward(self, h: Tensor, z_attr: Tensor, z_id: Tensor) -> Tensor:
        x = _run_units(self.add_blocks, h, z_attr, z_id)
        shortcut = h if self.last_add_block is None else _run_units(self.last_add_block, h, z_attr, z_id)
        return x + shortcut


class AADGenerator(nn.Module):
    """``up1`` (identity to a 2x2 map) and ``AADBlk1`` … ``AADBlk8``, one per attribute level."""

    def __init__(self, attr_channels: tuple[int, ...], width: int, c_id: int, num_blocks: int) -> None:
        super().__init__()
        top = 32 * width
        self.up1 = nn.ConvTranspose2d(c_id, top, 2, stride=1, padding=0)
        cins = (top, top, top, top, top // 2, top // 4, top // 8, top // 16)
        couts = (*cins[1:], 3)
        for k, (cin, cout, c_attr) in enumerate(zip(cins, couts, attr_channels, strict=True), start=1):
            self.add_module(f"AADBlk{k}", AADResBlk(cin, cout, c_attr, c_id, num_blocks))

    def forward(self, attrs: tuple[Tensor, ...], z_id: Tensor) -> Tensor:
        m = self.up1(z_id[:, :, None, None])
        for k in range(1, LEVELS):
            m = getattr(self, f"AADBlk{k}")(m, attrs[k - 1], z_id)
            m = F.interpolate(m, scale_factor=2.0, mode="bilinear", align_corners=True)
        return torch.tanh(getattr(self, f"AADBlk{LEVELS}")(m, attrs[LEVELS - 1], z_id))


class AEINet(nn.Module):
    """``forward(target, z_id)``: target ``(B, 3, 256, 256)`` RGB in [-1, 1] and the raw (not normalised)
    identity vector ``(B, c_id)`` → ``(Y, attrs)``: the swapped face ``(B, 3, 256, 256)`` in [-1, 1] and the
    target's eight attribute maps, coarse to fine (training re-encodes ``Y`` with :meth:`get_attr` for
    the attribute loss)."""

    def __init__(self, config: AEINetConfig = DEFAULT_CONFIG) -> None:
        super().__init__()
        self.config = config
        self.encoder: UNetEncoder | ResNetEncoder = (
            ResNetEncoder(config.width)
            if config.backbone == "resnet"
            else UNetEncoder(config.width, concat=config.backbone == "unet")
        )
        self.generator = AADGenerator(self.encoder.out_channels, config.width, config.c_id, config.num_blocks)

    def get_attr(self, x: Tensor) -> tuple[Tensor, ...]:
        return self.encoder(x)

    def forward(self, target: Tensor, z_id: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        attrs = self.encoder(target)
        return self.generator(attrs, z_id), attrs


# --- initialisation and layout inference --------------------------------------------------------------


@torch.no_grad()
def init_aeinet(model: AEINet) -> None:
    """GHOST's from-scratch initialisation, in place.

    Linear layers N(0, 0.001) with zero bias; (transposed) convolutions Xavier-normal, their biases as
    torch leaves them; BatchNorm (1, 0). The ResNet encoder's convolutions get N(0, sqrt(2 / (k·k·out)))
    instead.
    """
    resnet = isinstance(model.encoder, ResNetEncoder)
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            module.weight.normal_(0.0, 0.001)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d) and resnet and name.startswith("encoder."):
            kh, kw = module.kernel_size
            module.weight.normal_(0.0, math.sqrt(2.0 / (kh * kw * module.out_channels)))
        elif isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_normal_(module.weight)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


_AAD_MASK_KEY = re.compile(r"generator\.AADBlk1\.add_blocks\.\d+\.conv_h\.weight")


def _infer_config(state: Mapping[str, Tensor]) -> AEINetConfig:
    """The layout the keys point at; raises ``KeyError``, ``AttributeError`` or ``ValueError`` when they point
    at none."""
    c_id = state["generator.up1.weight"].shape[0]
    num_blocks = sum(1 for key in state if _AAD_MASK_KEY.fullmatch(key))
    if "encoder.conv0.weight" in state:
        return AEINetConfig("resnet", num_blocks, c_id, state["encoder.conv0.weight"].shape[0] // 2)
    width = state["encoder.conv1.0.weight"].shape[0]
    up_in = state["encoder.deconv2.deconv.weight"].shape[0]
    concat = up_in == 2 * state["encoder.deconv1.deconv.weight"].shape[1]
    return AEINetConfig("unet" if concat else "linknet", num_blocks, c_id, width)


def aeinet_config_from_state_dict(state: Mapping[str, Tensor]) -> AEINetConfig:
    """The :class:`AEINetConfig` whose model has exactly the keys and shapes of ``state``.

    Raises :class:`~faceforge.errors.WeightsError` when ``state`` is not an AEI-Net generator.
    """
    try:
        config = _infer_config(state)
    except (KeyError, IndexError, AttributeError, ValueError):
        raise WeightsError("The weights are not an AEI-Net generator in GHOST's layout.") from None
    with torch.device("meta"):
        difference = layout_difference(state, state_shapes(AEINet(config)))
    if difference is not None:
        raise WeightsError(
            f"The weights are not a complete AEI-Net generator ({config.backbone}, num_blocks "
            f"{config.num_blocks}, width {config.width}): {difference}."
        )
    return config
