import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from vidpred.eval import metrics


def video(seed=0, shape=(2, 3, 1, 32, 32), low=0.2, high=0.8):
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(shape, generator=g)


def test_identical_videos():
    x = video(shape=(2, 3, 3, 32, 32))
    assert torch.equal(metrics.mse(x, x), torch.zeros(2, 3))
    assert torch.equal(metrics.mae(x, x), torch.zeros(2, 3))
    assert torch.isinf(metrics.psnr(x, x)).all()
    assert torch.allclose(metrics.ssim(x, x), torch.ones(2, 3))
    assert torch.allclose(metrics.ssim_uniform7(x, x), torch.ones(2, 3))


def test_constant_offset_gives_known_values():
    x = video()
    y = x + 0.1
    pixels = 32 * 32
    assert torch.allclose(metrics.mse(y, x), torch.full((2, 3), 0.01 * pixels), rtol=1e-4)
    assert torch.allclose(metrics.mae(y, x), torch.full((2, 3), 0.1 * pixels), rtol=1e-4)
    assert torch.allclose(metrics.psnr(y, x), torch.full((2, 3), 20.0), atol=1e-3)  # 10 log10(1 / 0.01)


def test_mse_is_a_sum_over_pixels_not_a_mean():
    x = torch.zeros(1, 1, 3, 64, 64)
    y = x.clone()
    y[0, 0, 1, 10, 10] = 0.5  # one pixel of one channel
    assert metrics.mse(y, x).item() == pytest.approx(0.25)
    assert metrics.mae(y, x).item() == pytest.approx(0.5)


def _pairs(seed):
    x = video(seed, shape=(1, 2, 3, 48, 40), low=0.0, high=1.0)
    y = (x + 0.15 * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed + 1))).clamp(0, 1)
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_matches_scikit_image_gaussian_valid_region(seed):
    x, y = _pairs(seed)
    ours = metrics.ssim(y, x)
    for t in range(2):
        a = x[0, t].permute(1, 2, 0).double().numpy()
        b = y[0, t].permute(1, 2, 0).double().numpy()
        reference = structural_similarity(b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                          data_range=1.0, channel_axis=2)
        assert ours[0, t].item() == pytest.approx(reference, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_uniform7_matches_scikit_image_defaults_on_uint8(seed):
    x, y = _pairs(seed)
    ours = metrics.ssim_uniform7(y, x)
    quantise = lambda v: np.round(v.permute(1, 2, 0).double().numpy() * 255).astype(np.uint8)  # noqa: E731
    for t in range(2):
        reference = structural_similarity(quantise(y[0, t]), quantise(x[0, t]), channel_axis=2)  # win 7, range 255
        assert ours[0, t].item() == pytest.approx(reference, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_svg_release_is_scikit_image_on_float_frames_with_their_default_range_of_2(seed):
    """edenton/svg's eval_seq: compare_ssim(gt, pred) per channel on float32 frames in [0, 1]: 7x7 uniform window,
    sample covariance, data range from the dtype, (-1, 1); today's scikit-image asks for that range explicitly."""
    x, y = _pairs(seed)
    ours = metrics.ssim_svg_release(y, x)
    for t in range(2):
        a = x[0, t].permute(1, 2, 0).numpy()
        b = y[0, t].permute(1, 2, 0).numpy()
        reference = np.mean([structural_similarity(a[..., c], b[..., c], data_range=2.0) for c in range(3)])
        assert ours[0, t].item() == pytest.approx(reference, abs=1e-6)


def test_the_three_ssim_conventions_differ():
    x, y = _pairs(5)
    values = [f(y, x).mean().item() for f in (metrics.ssim, metrics.ssim_uniform7, metrics.ssim_svg_release)]
    assert min(abs(a - b) for i, a in enumerate(values) for b in values[i + 1:]) > 1e-3


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"two videos of one shape \(B, T, C, H, W\)"):
        metrics.mse(torch.zeros(1, 2, 1, 8, 8), torch.zeros(1, 3, 1, 8, 8))
    with pytest.raises(ValueError, match="smaller than the 11x11 SSIM window"):
        metrics.ssim(torch.zeros(1, 1, 1, 8, 8), torch.zeros(1, 1, 1, 8, 8))
