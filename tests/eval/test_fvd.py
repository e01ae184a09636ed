import numpy as np
import pytest
import torch

from vidpred.eval import fvd
from vidpred.eval.weights import WeightsUnavailable


def test_frechet_distance_of_identical_statistics_is_zero():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 6))
    mu, sigma = fvd.gaussian_stats(features)
    assert fvd.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    assert fvd.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-10)


def test_i3d_runs_on_a_tiny_clip_and_gives_400_features():
    torch.manual_seed(0)
    model = fvd.InceptionI3d().eval()
    clip = torch.rand(2, 10, 1, 32, 32)  # grey, small: resized to 224 and repeated to RGB inside
    features = fvd.i3d_features(model, clip)
    assert features.shape == (2, fvd.FEATURE_DIM) and features.dtype == np.float64
    assert np.isfinite(features).all() and not np.allclose(features[0], features[1])


def test_i3d_state_dict_round_trip_and_missing_file(tmp_path, monkeypatch):
    torch.manual_seed(1)
    model = fvd.InceptionI3d()
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}  # as old files
    torch.save(state, tmp_path / fvd.I3D_FILE)
    loaded = fvd.load_i3d(tmp_path / fvd.I3D_FILE)
    assert torch.equal(loaded.Mixed_4c.b1b.conv3d.weight, model.Mixed_4c.b1b.conv3d.weight)
    assert "Mixed_5c.b3b.bn.running_var" in state and "logits.conv3d.bias" in state
    monkeypatch.delenv("VIDPRED_WEIGHTS_DIR", raising=False)
    with pytest.raises(WeightsUnavailable, match="supply i3d_pretrained_400.pt with --i3d-weights FILE"):
        fvd.load_i3d()


def test_reference_statistics_are_cached(tmp_path):
    key = {"data": "x", "n": 3}
    file = fvd.reference_stats_file(tmp_path, key)
    assert file == fvd.reference_stats_file(tmp_path, dict(key))
    assert file != fvd.reference_stats_file(tmp_path, {"data": "x", "n": 4})
    fvd.save_stats(file, np.arange(3.0), np.eye(3), key)
    mu, sigma = fvd.load_stats(file)
    assert np.array_equal(mu, np.arange(3.0)) and np.array_equal(sigma, np.eye(3))
