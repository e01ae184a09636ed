"""Vector quantisation with an exponential-moving-average codebook (VQ-VAE; Walker et al. 2021 Eq. 1-3).

- Nearest neighbour (Eq. 1): each vector z maps to the code e_k with the smallest squared distance.
- Straight-through gradient: the decoder sees e_k, the encoder receives the decoder's gradient unchanged.
- Loss (Eq. 2 without its codebook term): beta * |z - sg[e]|^2, the commitment cost (beta = 0.25).
- Codebook (Eq. 3): N_i <- gamma N_i + (1 - gamma) n_i,  m_i <- gamma m_i + (1 - gamma) sum_j z_j,
  e_i = m_i / N_i, with N Laplace-smoothed, (N_i + eps) / (sum N + K eps) * sum N, so that unused codes never
  divide by zero (as the VQ-VAE-2 release does). gamma = 0.99 (VQ-VAE-2's value; Walker et al. do not give one).

Beyond the paper, because every VQ codebase meets codebook collapse: **dead-code restart** re-seeds each code
unused for ``restart_after`` consecutive training steps with a random encoder output of the current batch
(``restart_after = 0`` switches it off: the paper's exact behaviour). Under DDP the statistics are summed over
processes and restarts are broadcast from rank 0, so every process keeps the same codebook.

All state (codebook, EMA statistics, unused-step counters) is in buffers, so checkpoints restore it.

Under mixed precision (bf16 autocast) the quantiser runs in float32: nearest-code distances in bf16 pick wrong
codes once codes are close, and EMA statistics lose their small updates; the encoder before it and the decoder
after it keep autocast's speed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor  # straight-through: forward value e_k, gradient to z
    codes: torch.Tensor  # long, the input's shape without its last (vector) dimension
    commitment: torch.Tensor  # beta * mean |z - sg[e]|^2
    usage: torch.Tensor  # fraction of codes used in this batch
    perplexity: torch.Tensor  # exp(entropy) of this batch's code distribution


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class EMAVectorQuantizer(nn.Module):
    def __init__(self, num_codes: int = 512, dim: int = 64, beta: float = 0.25, decay: float = 0.99,
                 eps: float = 1e-5, restart_after: int = 100):
        super().__init__()
        self.num_codes, self.dim, self.beta, self.decay, self.eps = num_codes, dim, beta, decay, eps
        self.restart_after = restart_after
        embedding = torch.randn(num_codes, dim) * 0.02
        self.register_buffer("embedding", embedding)
        self.register_buffer("cluster_size", torch.ones(num_codes))  # N
        self.register_buffer("embed_sum", embedding.clone())  # m
        self.register_buffer("unused_steps", torch.zeros(num_codes, dtype=torch.long))

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Eq. 1: index of the closest code for each row of ``flat`` (N, D)."""
        distances = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embedding.t()
                     + self.embedding.pow(2).sum(1)[None])
        return distances.argmin(1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Code vectors for integer ``codes`` of any shape -> shape + (D,)."""
        return F.embedding(codes, self.embedding)

    @torch.no_grad()
    def ema_update(self, flat: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Eq. 3 on a batch: ``flat`` (N, D) encoder outputs and their ``codes`` (N,). Returns counts n (K,)."""
        one_hot = F.one_hot(codes, self.num_codes).type(flat.dtype)  # (N, K)
        counts = one_hot.sum(0)
        sums = one_hot.t() @ flat  # (K, D)
        if _distributed():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.num_codes * self.eps) * total
        self.embedding.copy_(self.embed_sum / smoothed[:, None])
        return counts

    @torch.no_grad()
    def restart_dead_codes(self, flat: torch.Tensor, counts: torch.Tensor) -> int:
        """Re-seed codes unused for ``restart_after`` steps with random rows of ``flat``; returns how many."""
        self.unused_steps.add_(1).masked_fill_(counts > 0, 0)
        dead = (self.unused_steps >= self.restart_after).nonzero().flatten()
        if len(dead) == 0:
            return 0
        picks = flat[torch.randint(len(flat), (len(dead),), device=flat.device)]
        if _distributed():
            dist.broadcast(picks, src=0)
        self.embedding[dead] = picks
        self.embed_sum[dead] = picks
        self.cluster_size[dead] = 1.0
        self.unused_steps[dead] = 0
        return len(dead)

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        """``z`` (..., D) -> quantised vectors, codes (...), losses and usage; in float32 under autocast."""
        with torch.autocast(z.device.type, enabled=False):
            return self._quantize(z.float())

    def _quantize(self, z: torch.Tensor) -> QuantizerOutput:
        flat = z.reshape(-1, self.dim)
        codes = self.nearest(flat.detach())
        quantized = self.lookup(codes).view_as(z)  # the codebook before this batch's update, as VQ-VAE-2
        if self.training:
            counts = self.ema_update(flat.detach(), codes)
            if self.restart_after:
                self.restart_dead_codes(flat.detach(), counts)
        else:
            counts = torch.bincount(codes, minlength=self.num_codes).to(flat.dtype)
        commitment = self.beta * F.mse_loss(z, quantized.detach())
        probs = counts / counts.sum().clamp_min(1)
        perplexity = torch.exp(-(probs * torch.log(probs.clamp_min(1e-10))).sum())
        usage = (counts > 0).float().mean()
        return QuantizerOutput(z + (quantized - z).detach(), codes.view(z.shape[:-1]), commitment, usage, perplexity)
