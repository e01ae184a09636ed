"""Convolutional building blocks shared by the models."""
from __future__ import annotations

import math

import torch
from torch import nn


class Residual3d(nn.Module):
    """VQ-VAE residual block: ReLU, 3x3(x3) conv to ``residual`` channels, ReLU, 1x1(x1) conv back, plus skip.
    ``dims=2`` makes it 2D (the bottom prior's per-slice conditioning stack)."""

    def __init__(self, hidden: int, residual: int, dims: int = 3):
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.block = nn.Sequential(nn.ReLU(), conv(hidden, residual, 3, padding=1), nn.ReLU(),
                                   conv(residual, hidden, 1))

    def forward(self, x):
        return x + self.block(x)


class ResidualStack3d(nn.Sequential):
    """``layers`` residual blocks then a ReLU (VQ-VAE's residual stack: hidden 128, residual 32, 2 layers)."""

    def __init__(self, hidden: int, residual: int, layers: int, dims: int = 3):
        super().__init__(*[Residual3d(hidden, residual, dims) for _ in range(layers)], nn.ReLU())


# Frame encoders and decoders of SVG (Denton & Fergus 2018, §4.1), shared with the VRNN. An encoder maps a frame
# (N, C, 64, 64) to a vector h (N, dim) in [-1, 1] (tanh) and the feature maps of its four stages (the skips); its
# decoder mirrors it, taking h and the skips of a chosen frame, and ends in a sigmoid. Layer widths, kernels and
# BatchNorm + LeakyReLU(0.2) follow the architectures the paper names (DCGAN's discriminator / generator, VGG16 up
# to its last pooling) as its code release builds them for 64x64 frames.


def _conv_bn_lrelu(cin: int, cout: int, kernel: int, stride: int, padding: int, transposed: bool = False):
    conv = nn.ConvTranspose2d if transposed else nn.Conv2d
    return nn.Sequential(conv(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2))


class FrameEncoder(nn.Module):
    """``kind="dcgan"``: four stride-2 4x4 convolutions (64, 128, 256, 512 channels: 64x64 -> 4x4) then a 4x4
    convolution to ``dim``; ``kind="vgg"``: VGG16's blocks (2, 2, 3, 3 3x3 convolutions of 64, 128, 256, 512
    channels, max-pooled between them) then max-pool and a 4x4 convolution to ``dim``. BatchNorm and tanh on h.
    ``width``: the first stage's channels, doubling per stage (64: the paper's; smaller for CPU-sized presets)."""

    def __init__(self, channels: int, dim: int, kind: str = "dcgan", width: int = 64):
        super().__init__()
        widths = tuple(width * 2 ** i for i in range(4))
        if kind == "dcgan":
            sizes = (channels,) + widths
            self.stages = nn.ModuleList(_conv_bn_lrelu(a, b, 4, 2, 1) for a, b in zip(sizes, sizes[1:]))
            self.pool = nn.Identity()
        elif kind == "vgg":
            depths, stages, cin = (2, 2, 3, 3), [], channels
            for width, depth in zip(widths, depths):
                stages.append(nn.Sequential(*[_conv_bn_lrelu(cin if i == 0 else width, width, 3, 1, 1)
                                              for i in range(depth)]))
                cin = width
            self.stages = nn.ModuleList(stages)
            self.pool = nn.MaxPool2d(2)
        else:
            raise ValueError(f"unknown frame encoder {kind!r}; choose dcgan or vgg")
        self.kind, self.dim = kind, dim
        self.out = nn.Sequential(nn.Conv2d(widths[-1], dim, 4, 1, 0), nn.BatchNorm2d(dim), nn.Tanh())

    def forward(self, frames):
        """frames (N, C, 64, 64) -> (h (N, dim), [the four stages' outputs, finest first])."""
        skips, x = [], frames
        for i, stage in enumerate(self.stages):
            x = stage(self.pool(x) if i else x)
            skips.append(x)
        return self.out(self.pool(x)).flatten(1), skips


class FrameDecoder(nn.Module):
    """The mirror of :class:`FrameEncoder` of the same ``kind``: h -> 4x4 by a transposed 4x4 convolution, then at
    each scale the skip of that scale is concatenated (doubling the channels) before the stage; DCGAN stages are
    stride-2 transposed convolutions, VGG stages nearest upsampling and 3x3 convolutions. Sigmoid output."""

    def __init__(self, channels: int, dim: int, kind: str = "dcgan", width: int = 64):
        super().__init__()
        self.kind, self.dim = kind, dim
        w1, w2, w4, w8 = (width * 2 ** i for i in range(4))
        self.first = _conv_bn_lrelu(dim, w8, 4, 1, 0, transposed=True)
        if kind == "dcgan":
            self.stages = nn.ModuleList([_conv_bn_lrelu(2 * w8, w4, 4, 2, 1, True),
                                         _conv_bn_lrelu(2 * w4, w2, 4, 2, 1, True),
                                         _conv_bn_lrelu(2 * w2, w1, 4, 2, 1, True)])
            self.last = nn.Sequential(nn.ConvTranspose2d(2 * w1, channels, 4, 2, 1), nn.Sigmoid())
            self.up = nn.Identity()
        elif kind == "vgg":
            plan = ((2 * w8, (w8, w8, w4)), (2 * w4, (w4, w4, w2)), (2 * w2, (w2, w1)))
            self.stages = nn.ModuleList(
                nn.Sequential(*[_conv_bn_lrelu(cin if i == 0 else widths[i - 1], w, 3, 1, 1)
                                for i, w in enumerate(widths)]) for cin, widths in plan)
            self.last = nn.Sequential(_conv_bn_lrelu(2 * w1, w1, 3, 1, 1), nn.ConvTranspose2d(w1, channels, 3, 1, 1),
                                      nn.Sigmoid())
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
        else:
            raise ValueError(f"unknown frame decoder {kind!r}; choose dcgan or vgg")

    def forward(self, h, skips):
        """h (N, dim) and an encoder's skips (finest first) -> frames (N, C, 64, 64) in [0, 1]."""
        x = self.first(h.view(-1, self.dim, 1, 1))
        for stage, skip in zip(self.stages, reversed(skips[1:])):
            x = stage(torch.cat([self.up(x), skip], dim=1))
        return self.last(torch.cat([self.up(x), skips[0]], dim=1))


def dcgan_init_(module: nn.Module) -> nn.Module:
    """Re-initialise ``module`` in place as DCGAN (Radford et al. 2016, §4) and SVG's code release (edenton/svg,
    ``utils.init_weights``, applied to all five networks) do: every convolution, transposed convolution and linear
    layer's weights from N(0, 0.02) and biases 0, every BatchNorm's scale from N(1, 0.02) and shift 0. The LSTM cells
    keep PyTorch's uniform initialisation, as the release's do (its rule matches class names with Conv or Linear).
    Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def norm_groups(channels: int, at_most: int) -> int:
    """The most groups, up to ``at_most``, that divide ``channels`` into groups of at least 2 channels (a group of
    one channel is an InstanceNorm: it removes each channel's own mean and scale, which a GroupNorm keeps)."""
    return max((g for g in range(1, at_most + 1) if channels % g == 0 and channels // g >= 2), default=1)


def group_norm(channels: int, size: int, groups: int = 16, legacy: bool = False) -> nn.GroupNorm:
    """GroupNorm for a (channels, size, size) feature map in up to ``groups`` groups of at least 2 channels (the
    improved VRNN's release: 4 in its residual, convolution and up-sampling blocks, 16 in its ConvLSTMs, all with
    far more channels than our CPU widths), and one group (layer norm) on a 1x1 map, where a group of one channel
    would have a single value and normalise it to zero. ``legacy``: gcd(channels, 16) groups, one channel each in
    8- and 16-channel layers, as before [fidelity 12]; kept so that models trained with it still load."""
    if size == 1:
        count = 1
    else:
        count = math.gcd(channels, 16) if legacy else norm_groups(channels, groups)
    return nn.GroupNorm(count, channels)


class GroupNormResBlock(nn.Module):
    """A pre-activation residual block with GroupNorm (the improved VRNN's frame encoder, in its code release):
    LeakyReLU(0.2), conv, GroupNorm, LeakyReLU, conv, GroupNorm, added to the input (a 1x1 convolution where the
    channels change) at ``scale`` 0.1, which keeps a deep stack close to the identity early in training (the
    release's choice). Convolutions are 3x3, or 1x1 on a 1x1 map (``size``), where a 3x3 kernel's outer taps
    would only ever see the zero padding. GroupNorm in up to 4 groups (the release's ``ResnetBlock``); ``legacy``:
    see :func:`group_norm`."""

    def __init__(self, cin: int, cout: int, size: int, scale: float = 0.1, legacy: bool = False):
        super().__init__()
        k = 1 if size == 1 else 3
        mid = min(cin, cout)
        norm = lambda c: group_norm(c, size, 4, legacy)  # noqa: E731
        self.block = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(cin, mid, k, padding=k // 2), norm(mid),
                                   nn.LeakyReLU(0.2), nn.Conv2d(mid, cout, k, padding=k // 2), norm(cout))
        self.shortcut = nn.Conv2d(cin, cout, 1, bias=False) if cin != cout else nn.Identity()
        self.scale = scale

    def forward(self, x):
        return self.shortcut(x) + self.scale * self.block(x)
