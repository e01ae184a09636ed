"""Convolutional building blocks shared by the models."""
from __future__ import annotations

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
