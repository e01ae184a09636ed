"""Contract tests over every registered model: shapes, sample behaviour, save/load, input errors."""
import pytest
import torch

from vidpred.config import ConfigError
from vidpred.models.io import build_model, load_model, save_model
from vidpred.models.base import Predictor
from vidpred.registry import model_names, model_spec

# every registered single-stage predictor (multi-stage pipelines such as video_vqvae have their own tests)
MODELS = [name for name in model_names() if issubclass(model_spec(name).build, Predictor) and not model_spec(name).stages]


def test_registry_lists_the_baselines():
    assert {"blank", "convlstm", "copy_last", "linear_extrapolation"} <= set(MODELS)
    with pytest.raises(ConfigError, match="unknown model 'nope'; known models: blank, convlstm, copy_last, linear_extrapolation, video_vqvae"):
        model_spec("nope")


@pytest.mark.parametrize("name", MODELS)
def test_predict_shape_range_and_sampling(name):
    model = build_model(name, num_context=4, num_predicted=3)
    batch = model.example_batch(model.config, batch_size=2)
    context = batch[:, :4]
    g = torch.Generator().manual_seed(0)
    out = model.predict(context, horizon=5, num_samples=3, generator=g)
    assert out.shape == (2, 3, 5, 1, 64, 64)
    assert 0.0 <= out.min() and out.max() <= 1.0
    again = model.predict(context, horizon=5, num_samples=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    if not model.stochastic:
        assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])
    loss = model.loss(batch)
    assert loss.total.dim() == 0 and torch.isfinite(loss.total)


@pytest.mark.parametrize("name", MODELS)
def test_save_load_round_trip(name, tmp_path):
    model = build_model(name, num_context=3)
    save_model(model, tmp_path / name)
    loaded = load_model(tmp_path / name)
    assert loaded.config == model.config
    context = torch.rand(1, 3, 1, 64, 64)
    assert torch.equal(loaded.predict(context, 4), model.predict(context, 4))


@pytest.mark.parametrize("name", MODELS)
def test_bad_context_is_one_clear_sentence(name):
    model = build_model(name)
    with pytest.raises(ValueError, match=rf"context has 0 frames; the model needs at least {model.min_context}"):
        model.predict(torch.rand(1, 0, 1, 64, 64), 2)
    with pytest.raises(ValueError, match=r"context frames are \(3, 64, 64\) \(C, H, W\); the model takes \(1, 64, 64\)"):
        model.predict(torch.rand(1, 4, 3, 64, 64), 2)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(torch.full((1, 4, 1, 64, 64), float("nan")), 2)


def test_baseline_predictions():
    context = torch.rand(2, 4, 1, 64, 64) * 0.5 + 0.25
    assert torch.equal(build_model("blank").predict(context, 3), torch.zeros(2, 1, 3, 1, 64, 64))
    copy = build_model("copy_last").predict(context, 3)
    assert torch.equal(copy[:, 0], context[:, 3:4].expand(-1, 3, -1, -1, -1))
    linear = build_model("linear_extrapolation").predict(context, 3)[:, 0]
    step = context[:, 3] - context[:, 2]
    for k in range(3):
        assert torch.allclose(linear[:, k], (context[:, 3] + (k + 1) * step).clamp(0, 1))


def test_public_api(tmp_path):
    import vidpred

    assert "copy_last" in vidpred.list_models() and "moving_mnist" in vidpred.list_datasets()
    model = build_model("linear_extrapolation", num_context=2)
    save_model(model, tmp_path / "saved")
    assert vidpred.load(str(tmp_path / "saved")).config == model.config
    assert vidpred.load("copy_last").config.name == "copy_last"


def test_convlstm_presets_are_constructible_at_their_sizes():
    from vidpred.models.presets import PRESETS

    paper = build_model(PRESETS["convlstm_mmnist"]())
    assert sum(p.numel() for p in paper.parameters()) == 11_677_712  # 4 x 128 hidden, 5x5 filters, 4x4 patches
    assert [c.hidden for c in paper.stack.cells] == [128, 128, 128, 128]
    out = paper.predict(torch.rand(1, 2, 1, 64, 64), horizon=1)
    assert out.shape == (1, 1, 1, 1, 64, 64)
    small = build_model(PRESETS["convlstm_small"]())
    assert sum(p.numel() for p in small.parameters()) < 200_000
