"""Causal multi-head self-attention over a (T, H, W) voxel grid, for the PixelCNN priors.

PixelSNAIL-style (Chen et al. 2018; Walker et al. 2021 §3.2 apply it to the 3D voxel instead of a 2D image):
the grid is flattened in raster order (t, then y, then x) and position ``i`` attends to positions ``j <= i``.
Attending to ``i`` itself is safe because the features the attention reads at ``i`` come from the causal stack,
which never sees the code at ``i``. A learned position embedding is added to the attention's input (PixelSNAIL
gives the attention block positional channels; the convolutions alone would leave it order-blind): one vector per
voxel, or with ``factorised_position`` the sum of one per step, row and column (C x (T + H + W) parameters
instead of C x T x H x W, for priors whose paper bounds their size).

``forward`` runs the whole grid at once (training); ``step`` computes one position from cached keys and values
(fast sampling) and gives the same numbers as ``forward`` at that position; ``solve_plane`` computes a whole
step's positions at once from cached keys and values of the earlier steps and the step's own, causally (the
PixelCNN's step-at-a-time sampler), and ``write_plane`` caches that step's keys and values once its codes are
final.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class CausalSelfAttention3d(nn.Module):
    def __init__(self, channels: int, heads: int, grid: tuple[int, int, int], factorised_position: bool = False):
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels do not split into {heads} heads")
        self.heads, self.grid = heads, tuple(grid)
        if factorised_position:
            self.position_t, self.position_y, self.position_x = (
                nn.Parameter(torch.randn(channels, *(n if axis == i else 1 for axis in range(3))) * 0.02)
                for i, n in enumerate(self.grid))
        else:
            self.position = nn.Parameter(torch.zeros(channels, math.prod(grid)))
            nn.init.normal_(self.position, std=0.02)
        self.factorised = factorised_position
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def positions(self) -> torch.Tensor:
        """The position embedding of every voxel in raster order, (C, T * H * W)."""
        if self.factorised:
            return (self.position_t + self.position_y + self.position_x).flatten(1)
        return self.position

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
        seq = (x.flatten(2) + self.positions()).transpose(1, 2)  # (B, N, C)
        q, k, v = self._split(seq)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = self.out(y.transpose(1, 2).reshape(b, -1, c))
        return y.transpose(1, 2).reshape(b, c, *grid)

    def _kv(self, cache: dict, b: int, c: int, device_like: torch.Tensor):
        """This layer's cached keys and values (B, heads, N, C / heads) and position table, made on first use."""
        if self not in cache:
            n = math.prod(self.grid)
            cache[self] = (device_like.new_zeros(b, self.heads, n, c // self.heads),
                           device_like.new_zeros(b, self.heads, n, c // self.heads), self.positions())
        return cache[self]

    def prefill(self, cache: dict, x: torch.Tensor, positions: int) -> None:
        """Cache the keys and values of the first ``positions`` flat positions of ``x`` (B, C, T, H, W) at once."""
        b, c = x.shape[:2]
        keys, values, table = self._kv(cache, b, c, x)
        _, k, v = self._split((x.flatten(2)[:, :, :positions] + table[:, :positions]).transpose(1, 2))
        keys[:, :, :positions], values[:, :, :positions] = k, v

    def solve_plane(self, cache: dict, start: int, x: torch.Tensor):
        """x (B, C, 1, H, W): a whole step's inputs, its first flat position ``start``, every earlier position
        cached. Returns the step's outputs (B, C, 1, H, W), each position attending to the earlier steps and to
        the step's positions up to itself (as ``forward``), and the step's keys and values for ``write_plane``."""
        b, c, _, h, w = x.shape
        n = h * w
        keys, values, table = self._kv(cache, b, c, x)
        q, k, v = self._split((x.flatten(2) + table[:, start:start + n]).transpose(1, 2))
        # each position sees the earlier steps and its own step up to itself; made once per step, whatever the rounds
        key = ("step mask", start)
        if key not in cache:
            cache[key] = torch.ones(n, start + n, dtype=torch.bool, device=x.device).tril(diagonal=start)
        allowed = cache[key]
        y = F.scaled_dot_product_attention(q, torch.cat([keys[:, :, :start], k], 2),
                                           torch.cat([values[:, :, :start], v], 2), attn_mask=allowed)
        y = self.out(y.transpose(1, 2).reshape(b, n, c))
        return y.transpose(1, 2).reshape(b, c, 1, h, w), (k, v)

    def write_plane(self, cache: dict, start: int, keys_values: tuple[torch.Tensor, torch.Tensor]) -> None:
        """Cache a step's keys and values (from ``solve_plane``) from flat position ``start`` on."""
        k, v = keys_values
        keys, values, _ = cache[self]
        keys[:, :, start:start + k.shape[2]], values[:, :, start:start + k.shape[2]] = k, v

    def step(self, cache: dict, index: int, x: torch.Tensor) -> torch.Tensor:
        """x (B, C): the input at flat position ``index``; returns the output there. Positions must come in order."""
        b, c = x.shape
        keys, values, table = self._kv(cache, b, c, x)
        q, k, v = self._split((x + table[:, index]).unsqueeze(1))  # (B, heads, 1, d)
        keys[:, :, index] = k[:, :, 0]
        values[:, :, index] = v[:, :, 0]
        y = F.scaled_dot_product_attention(q, keys[:, :, :index + 1], values[:, :, :index + 1])
        return self.out(y.transpose(1, 2).reshape(b, c))
