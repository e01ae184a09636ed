"""Causal multi-head self-attention over a (T, H, W) voxel grid, for the PixelCNN priors.

PixelSNAIL-style (Chen et al. 2018; Walker et al. 2021 §3.2 apply it to the 3D voxel instead of a 2D image):
the grid is flattened in raster order (t, then y, then x) and position ``i`` attends to positions ``j <= i``.
Attending to ``i`` itself is safe because the features the attention reads at ``i`` come from the causal stack,
which never sees the code at ``i``. A learned position embedding is added to the attention's input (PixelSNAIL
gives the attention block positional channels; the convolutions alone would leave it order-blind).

``forward`` runs the whole grid at once (training); ``step`` computes one position from cached keys and values
(fast sampling) and gives the same numbers as ``forward`` at that position.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class CausalSelfAttention3d(nn.Module):
    def __init__(self, channels: int, heads: int, grid: tuple[int, int, int]):
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels do not split into {heads} heads")
        self.heads, self.grid = heads, tuple(grid)
        self.position = nn.Parameter(torch.zeros(channels, math.prod(grid)))
        nn.init.normal_(self.position, std=0.02)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, N, C) -> q, k, v as (B, heads, N, C / heads)."""
        b, n, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=-1)
        return tuple(z.view(b, n, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, T, H, W) -> attention output (B, C, T, H, W) (the caller adds it to its residual stream)."""
        b, c, *grid = x.shape
        if tuple(grid) != self.grid:
            raise ValueError(f"attention was built for a {self.grid} grid, got {tuple(grid)}")
        seq = (x.flatten(2) + self.position).transpose(1, 2)  # (B, N, C)
        q, k, v = self._split(seq)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = self.out(y.transpose(1, 2).reshape(b, -1, c))
        return y.transpose(1, 2).reshape(b, c, *grid)

    def _kv(self, cache: dict, b: int, c: int, device_like: torch.Tensor):
        if self not in cache:
            n = self.position.shape[1]
            cache[self] = (device_like.new_zeros(b, self.heads, n, c // self.heads),
                           device_like.new_zeros(b, self.heads, n, c // self.heads))
        return cache[self]

    def prefill(self, cache: dict, x: torch.Tensor, positions: int) -> None:
        """Cache the keys and values of the first ``positions`` flat positions of ``x`` (B, C, T, H, W) at once."""
        b, c = x.shape[:2]
        _, k, v = self._split((x.flatten(2)[:, :, :positions] + self.position[:, :positions]).transpose(1, 2))
        keys, values = self._kv(cache, b, c, k)
        keys[:, :, :positions], values[:, :, :positions] = k, v

    def step(self, cache: dict, index: int, x: torch.Tensor) -> torch.Tensor:
        """x (B, C): the input at flat position ``index``; returns the output there. Positions must come in order."""
        b, c = x.shape
        q, k, v = self._split((x + self.position[:, index]).unsqueeze(1))  # (B, heads, 1, d)
        keys, values = self._kv(cache, b, c, k)
        keys[:, :, index] = k[:, :, 0]
        values[:, :, index] = v[:, :, 0]
        y = F.scaled_dot_product_attention(q, keys[:, :, :index + 1], values[:, :, :index + 1])
        return self.out(y.transpose(1, 2).reshape(b, c))
