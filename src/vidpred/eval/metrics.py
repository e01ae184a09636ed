"""Per-frame metrics on videos ``(B, T, C, H, W)`` in [0, 1]; each returns ``(B, T)``.

Conventions (the field's numbers are only comparable under the same one, so each is named):

- ``mse`` / ``mae``: per frame, the **sum** over the C*H*W pixels of the squared / absolute error, as the
  Moving MNIST literature reports it (S-HR-VQVAE Table 2, PredRNN, OpenSTL). Averaging over frames and
  sequences happens in the protocol.
- ``psnr``: data range 1.0, from the per-frame mean squared error (torchmetrics). Identical frames give +inf;
  averages over frames and sequences count such frames at a cap of 100 dB (an error of 1e-10), and each result
  says how many frames were capped, so that one perfect frame (a still digit under copy_last) cannot make a
  mean infinite.
- ``ssim``: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), population statistics, K1 = 0.01,
  K2 = 0.03, data range 1, averaged over the *valid* region only (no padding); colour channels averaged. This is
  the SSIM of Finn et al. 2016 and Babaeizadeh et al. 2017, which SVG's code release defines (``finn_ssim``) for
  the comparison with the latter but does not call.
- ``ssim_svg_release``: what SVG's code release computes when it evaluates (edenton/svg ``utils.eval_seq``, called
  by ``generate_svg_lp.py``): scikit-image's ``compare_ssim`` with its defaults on float frames in [0, 1] -- 7x7
  uniform window, sample covariance, and the data range of a float image, 2 (-1 to 1), not 1 -- over the valid
  region (scikit-image crops the window's radius); channels averaged. The paper does not say which SSIM its
  figures plot; the release's evaluation script makes this one the likelier (docs/RESULTS.md, "SVG's SSIM").
- ``ssim_uniform7``: the PredRNN-lineage convention behind the KTH / Moving MNIST tables S-HR-VQVAE copies
  (scikit-image's ``compare_ssim`` defaults on uint8 frames): frames quantised to uint8, 7x7 uniform
  window, sample covariance (N / (N - 1)), data range 255, the 3-pixel border excluded; channels averaged.

torchmetrics' SSIM averages over reflection-padded borders and differs from both; it is not used.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

Tensor = torch.Tensor


def _check(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    if pred.shape != target.shape or pred.dim() != 5:
        raise ValueError(f"metrics need two videos of one shape (B, T, C, H, W); got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")
    return pred.float(), target.float()


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Sum over pixels of the squared error, per frame: ``(B, T)``."""
    pred, target = _check(pred, target)
    return (pred - target).pow(2).flatten(2).sum(-1)


def mae(pred: Tensor, target: Tensor) -> Tensor:
    """Sum over pixels of the absolute error, per frame: ``(B, T)``."""
    pred, target = _check(pred, target)
    return (pred - target).abs().flatten(2).sum(-1)


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """PSNR in dB with data range 1, per frame: ``(B, T)``."""
    pred, target = _check(pred, target)
    b, t = pred.shape[:2]
    value = peak_signal_noise_ratio(pred.flatten(0, 1), target.flatten(0, 1), data_range=1.0,
                                    reduction="none", dim=(1, 2, 3))
    return value.view(b, t)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> Tensor:
    """The 1D factor of the normalised 2D Gaussian window (the 2D window is its outer product)."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-coords.pow(2) / (2 * sigma**2))
    return g / g.sum()


def _band(window: Tensor, size: int) -> Tensor:
    """Matrix whose product with a length-``size`` signal is its valid correlation with ``window``."""
    k = window.shape[0]
    band = torch.zeros(size - k + 1, size, dtype=window.dtype, device=window.device)
    for offset in range(k):
        band.diagonal(offset).copy_(window[offset])
    return band


def _ssim_valid(x: Tensor, y: Tensor, window: Tensor, data_range: float, sample_covariance: bool) -> Tensor:
    """Mean SSIM over the valid region of each image: x, y ``(N, C, H, W)`` -> ``(N,)`` (channels averaged).

    ``window`` is the 1D factor of a separable 2D window. Each 1D "valid" filtering pass is a product with a
    banded matrix, which BLAS does several times faster than a single-channel convolution.
    """
    n, c, h, w = x.shape
    k = window.shape[-1]
    if h < k or w < k:
        raise ValueError(f"frames of {h}x{w} are smaller than the {k}x{k} SSIM window")
    x = x.reshape(n * c, h, w)
    y = y.reshape(n * c, h, w)
    down, across = _band(window.to(x), h), _band(window.to(x), w)  # (h - k + 1, h), (w - k + 1, w)
    # the five local statistics in one batched pass: E[x], E[y], E[x^2], E[y^2], E[xy]
    moments = (down @ torch.cat([x, y, x * x, y * y, x * y]) @ across.T).chunk(5)
    mu_x, mu_y = moments[0], moments[1]
    var_x = moments[2] - mu_x**2
    var_y = moments[3] - mu_y**2
    cov = moments[4] - mu_x * mu_y
    if sample_covariance:
        correction = k * k / (k * k - 1)
        var_x, var_y, cov = var_x * correction, var_y * correction, cov * correction
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.mean(dim=(1, 2)).view(n, c).mean(1)


def ssim(pred: Tensor, target: Tensor) -> Tensor:
    """SSIM, Finn et al.'s convention (Gaussian 11 / 1.5, valid region, data range 1), per frame: ``(B, T)``."""
    pred, target = _check(pred, target)
    b, t = pred.shape[:2]
    value = _ssim_valid(pred.flatten(0, 1).double(), target.flatten(0, 1).double(), gaussian_window(11, 1.5),
                        data_range=1.0, sample_covariance=False)
    return value.view(b, t).float()


def ssim_svg_release(pred: Tensor, target: Tensor) -> Tensor:
    """SSIM as SVG's code release evaluates (float frames, 7x7 uniform, sample covariance, range 2), per frame."""
    pred, target = _check(pred, target)
    b, t = pred.shape[:2]
    window = torch.full((7,), 1 / 7, dtype=torch.float64)
    value = _ssim_valid(pred.flatten(0, 1).double(), target.flatten(0, 1).double(), window, data_range=2.0,
                        sample_covariance=True)
    return value.view(b, t).float()


def ssim_uniform7(pred: Tensor, target: Tensor) -> Tensor:
    """SSIM, PredRNN's convention (uint8 frames, 7x7 uniform, sample covariance, range 255), per frame."""
    pred, target = _check(pred, target)
    b, t = pred.shape[:2]
    quantise = lambda v: (v.clamp(0, 1) * 255).round().double()  # noqa: E731
    window = torch.full((7,), 1 / 7, dtype=torch.float64)
    value = _ssim_valid(quantise(pred.flatten(0, 1)), quantise(target.flatten(0, 1)), window,
                        data_range=255.0, sample_covariance=True)
    return value.view(b, t).float()


@dataclass(frozen=True)
class Metric:
    """A per-frame metric: ``fn(pred, target) -> (B, T)`` and whether larger is better."""
    name: str
    fn: Callable[[Tensor, Tensor], Tensor]
    higher_is_better: bool
    description: str
    cap: float | None = None  # per-frame values above it are averaged as the cap (see the module docstring)


PIXEL_METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("mse", mse, False, "sum over pixels of squared error, per frame"),
    Metric("mae", mae, False, "sum over pixels of absolute error, per frame"),
    Metric("psnr", psnr, True, "PSNR in dB, data range 1", cap=100.0),
    Metric("ssim", ssim, True, "SSIM, Gaussian 11/1.5, valid region, range 1 (Finn et al.)"),
    Metric("ssim_svg_release", ssim_svg_release, True, "SSIM, float, 7x7 uniform, sample cov., range 2 (SVG release)"),
    Metric("ssim_uniform7", ssim_uniform7, True, "SSIM, uint8, 7x7 uniform, sample cov., range 255 (PredRNN)"),
)}
