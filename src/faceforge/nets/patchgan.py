"""pix2pixHD's multiscale PatchGAN discriminator, with the module layout of GHOST's ``D_*.pth`` files.

``num_d`` identical PatchGANs look at the image at full size, at half size, at a quarter size, ...
(3x3 stride-2 average pooling, padding not counted). Each is one flat ``nn.Sequential`` of 4x4 convolutions
with padding 2 and bias: ``n_layers`` stride-2 ones (``ndf`` channels doubling up to 512), one stride-1 one,
and a final stride-1 convolution to one logit channel; every convolution but the first and the last is
followed by InstanceNorm (no affine, no running stats, so no keys), every one but the last by
LeakyReLU(0.2). The convolutions sit at indices 0, 2, 5, 8, ...
"""

from __future__ import annotations

from torch import Tensor, nn

SLOPE = 0.2
MAX_CHANNELS = 512


def _patchgan(input_nc: int, ndf: int, n_layers: int) -> nn.Sequential:
    def conv(cin: int, cout: int, stride: int) -> nn.Conv2d:
        return nn.Conv2d(cin, cout, 4, stride=stride, padding=2)

    layers: list[nn.Module] = [conv(input_nc, ndf, 2), nn.LeakyReLU(SLOPE)]
    cin = ndf
    for n in range(1, n_layers + 1):
        cout = min(cin * 2, MAX_CHANNELS)
        layers += [conv(cin, cout, 2 if n < n_layers else 1), nn.InstanceNorm2d(cout), nn.LeakyReLU(SLOPE)]
        cin = cout
    layers.append(conv(cin, 1, 1))
    return nn.Sequential(*layers)


class MultiscaleDiscriminator(nn.Module):
    """``forward(x)``: images ``(B, input_nc, H, W)`` in [-1, 1] → one ``(B, 1, h, w)`` logit map per scale,
    finest first (11, 7 and 5 px for 256 px input with the defaults). As in GHOST's files, ``layer0`` is the
    sub-network for the coarsest scale and ``layer{num_d - 1}`` the one for full size."""

    def __init__(self, input_nc: int = 3, ndf: int = 64, n_layers: int = 5, num_d: int = 3) -> None:
        super().__init__()
        if min(input_nc, ndf, n_layers, num_d) < 1:
            raise ValueError("Discriminator channels, layers and scales must all be at least 1.")
        self.num_d = num_d
        for i in range(num_d):
            self.add_module(f"layer{i}", _patchgan(input_nc, ndf, n_layers))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: Tensor) -> list[Tensor]:
        logits = []
        for i in reversed(range(self.num_d)):
            logits.append(getattr(self, f"layer{i}")(x))
            if i:
                x = self.downsample(x)
        return logits
