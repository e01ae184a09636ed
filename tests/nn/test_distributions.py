"""Diagonal Gaussians: closed-form KL against a Monte-Carlo estimate, reparameterised gradients, seeded sampling."""
import math

import pytest
import torch

from vidpred.nn.distributions import DiagonalGaussian, standard_normal_like


def test_kl_matches_a_monte_carlo_estimate():
    torch.manual_seed(0)
    q = DiagonalGaussian(torch.randn(3, 4), torch.randn(3, 4) * 0.5)
    p = DiagonalGaussian(torch.randn(3, 4), torch.randn(3, 4) * 0.5)
    z = torch.stack([q.rsample() for _ in range(200_000)])  # (S, 3, 4)
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).mean(0)
    assert torch.allclose(q.kl(p), monte_carlo, rtol=0.02, atol=0.02)
    assert torch.allclose(q.kl(q), torch.zeros(3), atol=1e-6)


def test_kl_to_standard_normal_and_log_prob_by_hand():
    q = DiagonalGaussian(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(4.0)]]))
    # 1/2 [ (1 + 1 - 1 - 0) + (4 + 0 - 1 - log 4) ]
    assert q.kl(standard_normal_like(q)).item() == pytest.approx(0.5 * (1 + 3 - math.log(4)))
    z = torch.tensor([[1.0, 2.0]])
    expected = -0.5 * (2 * math.log(2 * math.pi) + math.log(4) + 1.0)  # (1-1)^2/1 + (2-0)^2/4
    assert q.log_prob(z).item() == pytest.approx(expected)


def test_rsample_is_reparameterised_and_reproducible():
    mean = torch.zeros(2, 3, 4, 4, requires_grad=True)
    logvar = torch.zeros(2, 3, 4, 4, requires_grad=True)
    q = DiagonalGaussian(mean, logvar, event_dims=3)
    z = q.rsample(torch.Generator().manual_seed(1))
    assert torch.equal(z, q.rsample(torch.Generator().manual_seed(1)))
    assert not torch.equal(z, q.rsample(torch.Generator().manual_seed(2)))
    z.sum().backward()
    assert torch.equal(mean.grad, torch.ones_like(mean)) and logvar.grad.abs().sum() > 0
    assert q.kl(standard_normal_like(q)).shape == (2,)
    with pytest.raises(ValueError, match="differ in shape"):
        DiagonalGaussian(torch.zeros(2), torch.zeros(3))
