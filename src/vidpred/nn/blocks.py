"""Convolutional building blocks shared by the models."""
from __future__ import annotations

from torch import nn


class Residual3d(nn.Module):
    """VQ-VAE residual block in 3D: ReLU, 3x3x3 conv to ``residual`` channels, ReLU, 1x1x1 conv back, plus skip."""

    def __init__(self, hidden: int, residual: int):
        super().__init__()
        self.block = nn.Sequential(nn.ReLU(), nn.Conv3d(hidden, residual, 3, padding=1), nn.ReLU(),
                                   nn.Conv3d(residual, hidden, 1))

    def forward(self, x):
        return x + self.block(x)


class ResidualStack3d(nn.Sequential):
    """``layers`` residual blocks then a ReLU (VQ-VAE's residual stack: hidden 128, residual 32, 2 layers)."""

    def __init__(self, hidden: int, residual: int, layers: int):
        super().__init__(*[Residual3d(hidden, residual) for _ in range(layers)], nn.ReLU())
