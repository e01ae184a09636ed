"""Diagonal Gaussians for the latent-variable models (SVG's posterior and learned prior, the VRNN's latents).

A ``DiagonalGaussian`` holds a mean and a log-variance (the parameterisation SVG's and the VRNN's networks output);
``rsample`` draws with the reparameterisation trick (z = mu + sigma * eps, so gradients reach mu and log-variance),
optionally from a seeded ``torch.Generator`` so that predictions are reproducible; ``kl`` is the closed form

    KL(q || p) = 1/2 sum_d [ log(var_p / var_q) + (var_q + (mu_q - mu_p)^2) / var_p - 1 ]

summed over the last ``event_dims`` dimensions (default 1: a vector latent; 3 for (C, H, W) latents), and
``log_prob`` the matching log density. KL to the standard normal (SVG-FP's fixed prior) is
``kl(standard_normal_like(q))``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class DiagonalGaussian:
    mean: torch.Tensor
    logvar: torch.Tensor
    event_dims: int = 1

    def __post_init__(self):
        if self.mean.shape != self.logvar.shape:
            raise ValueError(f"mean {tuple(self.mean.shape)} and log-variance {tuple(self.logvar.shape)} "
                             "differ in shape")

    @classmethod
    def from_params(cls, params: torch.Tensor, dim: int = 1, event_dims: int = 1) -> DiagonalGaussian:
        """Split a network's output along ``dim`` into (mean, log-variance) halves."""
        mean, logvar = params.chunk(2, dim=dim)
        return cls(mean, logvar, event_dims)

    def float(self) -> DiagonalGaussian:
        """The same distribution in float32 (a KL or log-density computed under bf16 autocast loses digits)."""
        return DiagonalGaussian(self.mean.float(), self.logvar.float(), self.event_dims)

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def _sum(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=tuple(range(-self.event_dims, 0)))

    def rsample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """mu + sigma * eps, eps ~ N(0, I) (from ``generator`` when given); differentiable in mu and log-variance."""
        eps = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype,
                          device=generator.device if generator is not None else self.mean.device).to(self.mean.device)
        return self.mean + self.std * eps

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return self._sum(-0.5 * (math.log(2 * math.pi) + self.logvar + (z - self.mean) ** 2 / self.logvar.exp()))

    def kl(self, other: DiagonalGaussian) -> torch.Tensor:
        """KL(self || other), closed form, summed over the event dimensions."""
        var_ratio = (self.logvar - other.logvar).exp()
        mean_term = (self.mean - other.mean) ** 2 / other.logvar.exp()
        return self._sum(0.5 * (other.logvar - self.logvar + var_ratio + mean_term - 1))


def standard_normal_like(q: DiagonalGaussian) -> DiagonalGaussian:
    """N(0, I) of ``q``'s shape: SVG-FP's fixed prior."""
    return DiagonalGaussian(torch.zeros_like(q.mean), torch.zeros_like(q.logvar), q.event_dims)
