"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as a torch module.

Built from dlib's own model file (read by :mod:`faceforge.nets.dlib_format`); it produces dlib's 128-D
descriptors for dlib's 150-px face chips, for a whole batch at once, and is differentiable with respect
to the input pixels, so it can serve as an identity loss.

Faithful to dlib's layer semantics: ``con_`` pads ``kernel//2`` only for stride 1 (the 7×7/2 stem and
the 3×3/2 convolutions are unpadded), pools are unpadded, and a residual sum whose two sides differ in
size (channels doubling; 3×3 against 4×4 in the last stages) is zero-padded at the end of each axis, as
``add_prev_`` does. Each ``affine_`` (batch norm frozen at test time) is folded into the convolution
before it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceforge.errors import WeightsError
from faceforge.nets.dlib_format import DlibNet, Layer, load_dlib_net
from faceforge.nets.layout import to_device


def add_zero_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's ``tt::add`` for tensors of different shapes: each is read as zero outside its bounds."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(x, y) for x, y in zip(a.shape[1:], b.shape[1:], strict=True))

    def pad(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


def _folded_conv(con: Layer, affine: Layer) -> nn.Conv2d:
    weight, bias = con.arrays["weight"], con.arrays["bias"]
    gamma, beta = affine.arrays["gamma"], affine.arrays["beta"]
    out_c, in_c, kh, kw = weight.shape
    conv = nn.Conv2d(in_c, out_c, (kh, kw), stride=con.stride, padding=con.padding, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight * gamma[:, None, None, None]))
    conv.bias = nn.Parameter(torch.from_numpy(bias * gamma + beta).to(conv.weight.dtype))
    return conv


def _unexpected(net: DlibNet, index: int, wanted: str) -> str:
    """The sentence for a dlib network whose layers are not the face-recognition ResNet's."""
    found = ", ".join(layer.kind for layer in net.layers[index : index + 2])
    return f"This dlib network is not the face-recognition ResNet: layer {index} is {found}, not {wanted}."


class ResidualBlock(nn.Module):
    """relu(block(x) + skip(x)); block = conv-affine-relu-conv-affine; skip = x, or a 2×2/2 average
    pool for the downsampling blocks."""

    def __init__(self, conv1: nn.Conv2d, conv2: nn.Conv2d, pool: Layer | None) -> None:
        super().__init__()
        self.conv1 = conv1
        self.conv2 = conv2
        self.pool = None if pool is None else (pool.window, pool.stride, pool.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x)))
        skip = x if self.pool is None else F.avg_pool2d(x, *self.pool)
        return F.relu(add_zero_padded(y, skip))


class DlibFaceResNet(nn.Module):
    """``forward(chips)``: ``(N, 3, 150, 150)`` float RGB in 0..255 → ``(N, 128)`` descriptors."""

    mean: torch.Tensor  # dlib's per-channel means, a buffer of shape (1, 3, 1, 1)

    def __init__(self, net: DlibNet) -> None:
        super().__init__()
        layers = net.layers
        self.input_size = net.input_size
        self.register_buffer("mean", torch.tensor(net.channel_means, dtype=torch.float32).view(1, 3, 1, 1))
        # Stem: con, affine, relu, max_pool.
        self.stem = _folded_conv(layers[0], layers[1])
        stem_pool = layers[3]
        self.stem_pool = (stem_pool.window, stem_pool.stride, stem_pool.padding)
        # Residual blocks: tag1, con, affine, relu, con, affine, [tag2, skip1, avg_pool,] add_prev, relu.
        blocks, i = [], 4
        while layers[i].kind == "tag":
            conv1 = _folded_conv(layers[i + 1], layers[i + 2])
            conv2 = _folded_conv(layers[i + 4], layers[i + 5])
            i += 6
            pool = None
            if layers[i].kind == "tag":
                pool = layers[i + 2]
                i += 3
            if layers[i].kind != "add_prev" or layers[i + 1].kind != "relu":
                raise WeightsError(_unexpected(net, i, "add_prev, relu"))
            i += 2
            blocks.append(ResidualBlock(conv1, conv2, pool))
        self.blocks = nn.Sequential(*blocks)
        if layers[i].kind != "avg_pool" or layers[i].window != (0, 0) or layers[i + 1].kind != "fc":
            raise WeightsError(_unexpected(net, i, "a global avg_pool, fc"))
        fc = layers[i + 1].arrays["weight"]
        self.fc = nn.Linear(fc.shape[1], fc.shape[0], bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(fc))

    @classmethod
    def from_file(cls, path: Path) -> DlibFaceResNet:
        return cls(load_dlib_net(path)).eval()

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        x = (chips - self.mean) / 256.0
        x = F.max_pool2d(F.relu(self.stem(x)), *self.stem_pool)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))


class DlibResNetRunner:
    """Numpy in, numpy out: uint8 RGB chips ``(N, 150, 150, 3)`` → float32 ``(N, 128)``, in batches,
    under ``torch.inference_mode``, channels-last on CPU."""

    def __init__(
        self,
        model_path: Path,
        device: str | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.batch_size = batch_size
        if threads is not None:
            torch.set_num_threads(threads)
        self.model = to_device(DlibFaceResNet.from_file(model_path), self.device, torch.channels_last)

    def __call__(self, chips: np.ndarray) -> np.ndarray:
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (*self.model.input_size, 3):
            raise ValueError(
                f"Identity chips must be {self.model.input_size[0]}×{self.model.input_size[1]} RGB; "
                f"got an array of shape {chips.shape}."
            )
        out = np.empty((len(chips), 128), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(chips), self.batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(chips[start : start + self.batch_size]))
                # NHWC uint8 → NCHW float viewed channels-last: no copy of the layout.
                x = batch.to(self.device).permute(0, 3, 1, 2).float()
                out[start : start + len(batch)] = self.model(x).float().cpu().numpy()
        return out
