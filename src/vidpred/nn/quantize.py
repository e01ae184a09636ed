"""Vector quantisation with an exponential-moving-average codebook (VQ-VAE; Walker et al. 2021 Eq. 1-3).

- Nearest neighbour (Eq. 1): each vector z maps to the code e_k with the smallest squared distance.
- Straight-through gradient: the decoder sees e_k, the encoder receives the decoder's gradient unchanged.
- Loss (Eq. 2 without its codebook term): beta * |z - sg[e]|^2, the commitment cost (beta = 0.25).
- Codebook (Eq. 3): N_i <- gamma N_i + (1 - gamma) n_i,  m_i <- gamma m_i + (1 - gamma) sum_j z_j,
  e_i = m_i / N_i, with N Laplace-smoothed, (N_i + eps) / (sum N + K eps) * sum N, so that unused codes never
  divide by zero (as the VQ-VAE-2 release does). gamma = 0.99 (VQ-VAE-2's value; Walker et al. do not give one).

Beyond the paper, because every VQ codebase meets codebook collapse: **dead-code restart** re-seeds each code
unused for ``restart_after`` consecutive training steps with a random encoder output of the current batch
(``restart_after = 0`` switches it off: the paper's exact behaviour). ``restart_from`` says which outputs:
"any" (each row equally likely) or "poorly_quantised" (a row drawn with probability proportional to its squared
distance from its nearest codeword, as k-means++ seeds: the vectors the codebook serves worst). On Moving MNIST
~93% of a batch's vectors are background, so "any" re-seeds dead codewords mostly with yet another background
vector; "poorly_quantised" re-seeds them with strokes. Measured (docs/RESULTS.md, [fidelity] item 7): it uses every
codeword and lowers the MSE, but the background comes back exactly black less often and SSIM drops, so "any" is
the default; without restarts the Video VQ-VAE's codebooks collapse (6 of 512 top codes used). Under DDP the
statistics are summed over processes and restarts are broadcast from rank 0, so every process keeps the same
codebook.

**Groups** (``group_size``): the codewords may be split into groups of ``group_size`` and each vector searched only
within the group its caller names (``forward(z, group=...)``). HR-VQVAE's codebook tree (``ResidualTreeQuantizer``)
is this: layer i holds M^(i-1) codebooks of M codewords, and the codeword chosen at a position by layer i-1 selects
the codebook there. EMA statistics are kept per codeword as usual; a dead codeword is re-seeded with a vector
routed to its own group. **First-batch initialisation** (``init="first_batch"``, a choice of HR-VQVAE's preset)
seeds every codeword from the first training batch (vectors of its own group where there are any), so that no
codeword starts far from the data, dead.

All state (codebook, EMA statistics, unused-step counters, the initialised flag) is in buffers, so checkpoints
restore it.

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
                 eps: float = 1e-5, restart_after: int = 100, group_size: int | None = None,
                 init: str = "random", restart_from: str = "any"):
        super().__init__()
        if restart_from not in ("any", "poorly_quantised"):
            raise ValueError(f"restart_from must be 'any' or 'poorly_quantised', got {restart_from!r}")
        self.restart_from = restart_from
        self.num_codes, self.dim, self.beta, self.decay, self.eps = num_codes, dim, beta, decay, eps
        self.restart_after = restart_after
        self.group_size = group_size or num_codes
        if num_codes % self.group_size:
            raise ValueError(f"{num_codes} codes do not split into groups of {self.group_size}")
        embedding = torch.randn(num_codes, dim) * 0.02
        self.register_buffer("embedding", embedding)
        self.register_buffer("cluster_size", torch.ones(num_codes))  # N
        self.register_buffer("embed_sum", embedding.clone())  # m
        self.register_buffer("unused_steps", torch.zeros(num_codes, dtype=torch.long))
        if init not in ("random", "first_batch"):
            raise ValueError(f"init must be 'random' or 'first_batch', got {init!r}")
        if init == "first_batch":  # (a buffer only then: the Video VQ-VAE's saved weights have none)
            self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))
        self._seen_initialised = False  # whether ``initialised`` was found set (kept on the host, not saved)

    def nearest(self, flat: torch.Tensor, group: torch.Tensor | None = None) -> torch.Tensor:
        """Eq. 1: index of the closest code for each row of ``flat`` (N, D), among the codes of its ``group`` (N,)
        when the codes are grouped."""
        if group is None:
            distances = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.embedding.t()
                         + self.embedding.pow(2).sum(1)[None])
            return distances.argmin(1)
        books = self.embedding.view(-1, self.group_size, self.dim)[group]  # (N, M, D)
        return group * self.group_size + (flat[:, None] - books).pow(2).sum(-1).argmin(1)

    @torch.no_grad()
    def initialise(self, flat: torch.Tensor, group: torch.Tensor | None) -> None:
        """First-batch initialisation: every codeword becomes a random vector of its group (of the batch when its
        group has none), its EMA statistics those of one vector."""
        for g in range(self.num_codes // self.group_size):
            rows = flat if group is None else flat[group == g]
            rows = rows if len(rows) else flat
            picks = rows[torch.randint(len(rows), (self.group_size,), device=flat.device)]
            if _distributed():
                dist.broadcast(picks, src=0)
            codes = slice(g * self.group_size, (g + 1) * self.group_size)
            self.embedding[codes] = picks
            self.embed_sum[codes] = picks
        self.cluster_size.fill_(1.0)
        self.initialised.fill_(True)

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
    def restart_dead_codes(self, flat: torch.Tensor, counts: torch.Tensor, group: torch.Tensor | None = None,
                           error: torch.Tensor | None = None) -> torch.Tensor:
        """Re-seed codes unused for ``restart_after`` steps with rows of ``flat`` (N, D) drawn without replacement
        while there are enough (``restart_from``: uniformly, or weighted by ``error`` (N,), each row's squared
        distance from its codeword); rows of their own group when grouped: a code whose group had no row in the
        batch waits. Returns how many, as a tensor. Every shape here is fixed -- no selection whose size depends
        on the data -- so a training step on a GPU never waits for the device to learn it."""
        self.unused_steps.add_(1).masked_fill_(counts > 0, 0)
        dead = self.unused_steps >= self.restart_after  # (K,)
        n, codes = len(flat), torch.arange(self.num_codes, device=flat.device)
        # a weighted draw without replacement (Efraimidis & Spirakis): the rows in increasing Exp(1) / weight
        keys = torch.empty(n, device=flat.device).exponential_()
        if self.restart_from == "poorly_quantised":
            if error is None:
                raise ValueError("restart_from='poorly_quantised' needs each row's quantisation error")
            keys = keys / error.float()  # a row on its codeword (error 0) comes last
        order = keys.argsort()
        if group is None:
            rows = order[codes % n]
        else:
            code_group = codes // self.group_size
            per_group = torch.bincount(group, minlength=self.num_codes // self.group_size)  # rows routed to each
            dead &= per_group[code_group] > 0
            order = order[group[order].argsort(stable=True)]  # by group, in the draw's order within each
            starts = per_group.cumsum(0) - per_group
            within = (codes % self.group_size) % per_group[code_group].clamp(min=1)
            rows = order[(starts[code_group] + within).clamp(max=n - 1)]
        picks = flat[rows]
        if _distributed():
            dist.broadcast(picks, src=0)
        self.embedding.copy_(torch.where(dead[:, None], picks, self.embedding))
        self.embed_sum.copy_(torch.where(dead[:, None], picks, self.embed_sum))
        self.cluster_size.masked_fill_(dead, 1.0)
        self.unused_steps.masked_fill_(dead, 0)
        return dead.sum()

    def forward(self, z: torch.Tensor, group: torch.Tensor | None = None) -> QuantizerOutput:
        """``z`` (..., D) -> quantised vectors, codes (...), losses and usage; in float32 under autocast. With
        grouped codes, ``group`` (...) names each vector's group and the codes are indices over all groups."""
        with torch.autocast(z.device.type, enabled=False):
            return self._quantize(z.float(), None if group is None else group.reshape(-1))

    def _quantize(self, z: torch.Tensor, group: torch.Tensor | None) -> QuantizerOutput:
        flat = z.reshape(-1, self.dim)
        if self.training and hasattr(self, "initialised") and not self._seen_initialised:
            if not self.initialised:  # read once (it waits for the device), then remembered on the host
                self.initialise(flat.detach(), group)
            self._seen_initialised = True
        codes = self.nearest(flat.detach(), group)
        quantized = self.lookup(codes).view_as(z)  # the codebook before this batch's update, as VQ-VAE-2
        if self.training:
            error = None  # each row's squared distance from its codeword, before this batch's update
            if self.restart_after and self.restart_from == "poorly_quantised":
                error = (flat.detach() - quantized.detach().view_as(flat)).pow(2).sum(1)
            counts = self.ema_update(flat.detach(), codes)
            if self.restart_after:
                self.restart_dead_codes(flat.detach(), counts, group, error)
        else:
            counts = torch.bincount(codes, minlength=self.num_codes).to(flat.dtype)
        commitment = self.beta * F.mse_loss(z, quantized.detach())
        probs = counts / counts.sum().clamp_min(1)
        perplexity = torch.exp(-(probs * torch.log(probs.clamp_min(1e-10))).sum())
        usage = (counts > 0).float().mean()
        return QuantizerOutput(z + (quantized - z).detach(), codes.view(z.shape[:-1]), commitment, usage, perplexity)


@dataclass
class TreeOutput:
    quantized: torch.Tensor  # e_C = sum of the layers' codewords, straight-through to z
    codes: list[torch.Tensor]  # per layer, the codeword's index in its codebook, in [0, M)
    commitment: torch.Tensor  # Eq. 4's beta_0 term plus every layer's Eq. 5 commitment
    usage: list[torch.Tensor]  # per layer, the fraction of its M^i codewords used in this batch
    perplexity: list[torch.Tensor]


class ResidualTreeQuantizer(nn.Module):
    """HR-VQVAE's strict tree of residual codebooks (Adiban et al. 2023 §4.1, Eqs. 3-5).

    Layer 1 has one codebook of M codewords; layer i has M^(i-1) codebooks of M, and the codebook used at a
    position is the one under the codeword layer i-1 chose there (Eq. 3), so layer i has M^i codewords in all.
    Layer i quantises the residual of the layers above: xi^0 = z, xi^i = xi^(i-1) - e^i; the decoder sees
    e_C = sum_i e^i. Codebooks learn by EMA (Eq. 3 of VQ-VAE's EMA variant replaces Eq. 5's codebook term, as
    ``EMAVectorQuantizer``); the loss keeps the commitments: beta_0 |sg[e_C] - z|^2 (Eq. 4) and
    beta_i |sg[e^i] - xi^(i-1)|^2 (Eq. 5). ``betas`` = (beta_0, beta_1, ..., beta_n); the paper gives no values,
    VQ-VAE's 0.25 is the default. Codes per layer are indices within the selected codebook, in [0, M): the paper's
    Q^i; the path of codes above a position names its codebook.
    """

    def __init__(self, num_layers: int, codebook_size: int, dim: int, betas: tuple[float, ...] | None = None,
                 decay: float = 0.99, restart_after: int = 100, init: str = "first_batch"):
        super().__init__()
        betas = tuple(betas) if betas is not None else (0.25,) * (num_layers + 1)
        if len(betas) != num_layers + 1:
            raise ValueError(f"betas needs {num_layers + 1} values (beta_0 for e_C, then one per layer), "
                             f"got {len(betas)}")
        self.codebook_size, self.beta0 = codebook_size, betas[0]
        self.layers = nn.ModuleList(
            EMAVectorQuantizer(codebook_size ** (i + 1), dim, betas[i + 1], decay, restart_after=restart_after,
                               group_size=codebook_size, init=init) for i in range(num_layers))

    def forward(self, z: torch.Tensor) -> TreeOutput:
        """``z`` (..., D) -> e_C (straight-through), per-layer codes (...), losses and usage."""
        with torch.autocast(z.device.type, enabled=False):
            z = z.float()
            parent = torch.zeros(z.shape[:-1], dtype=torch.long, device=z.device)
            residual, total, commitment = z, torch.zeros_like(z), z.new_zeros(())
            codes, usage, perplexity = [], [], []
            for layer in self.layers:
                out = layer(residual, group=parent)
                e = out.quantized.detach()  # the codeword's value e^i
                commitment = commitment + out.commitment  # beta_i |sg[e^i] - xi^(i-1)|^2
                codes.append(out.codes % self.codebook_size)
                parent = out.codes  # the codeword's index among all of the layer's: the next layer's codebook
                residual, total = residual - e, total + e
                usage.append(out.usage)
                perplexity.append(out.perplexity)
            commitment = commitment + self.beta0 * F.mse_loss(z, total)
            return TreeOutput(z + (total - z).detach(), codes, commitment, usage, perplexity)

    def lookup(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """e_C of the first ``len(codes)`` layers (a prefix of the tree) for per-layer codes in [0, M) -> (..., D)."""
        parent, total = torch.zeros_like(codes[0]), 0
        for layer, k in zip(self.layers, codes):
            parent = parent * self.codebook_size + k
            total = total + layer.lookup(parent)
        return total

    def expected(self, probabilities: list[torch.Tensor], codes: list[torch.Tensor]) -> torch.Tensor:
        """The expected e_C when layer i's codeword is drawn from ``probabilities[i]`` (..., M) within the codebook
        that the true codes of the layers above select (``codes``): differentiable in the probabilities (S-HR-VQVAE
        joint training, Eq. 9)."""
        parent, total = torch.zeros_like(codes[0]), 0
        for layer, p, k in zip(self.layers, probabilities, codes):
            books = layer.embedding.view(-1, self.codebook_size, layer.dim)[parent]  # (..., M, D)
            total = total + (p.unsqueeze(-1) * books).sum(-2)
            parent = parent * self.codebook_size + k
        return total
