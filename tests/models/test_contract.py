"""Contract tests over every registered model: shapes, sample behaviour, save/load, input errors."""
import pytest
import torch

from vidpred.config import ConfigError
from vidpred.models.base import Predictor
from vidpred.models.io import build_model, load_model, save_model
from vidpred.models.registry import model_names, model_spec

# every registered model, staged and stochastic ones included: registering a model puts it under these tests
MODELS = model_names()


def contract_model(name: str, device="cpu") -> Predictor:
    """The registry's test config of ``name`` (its ``test_config``, else the config class's defaults), built and
    seeded on ``device``; a staged model is marked as having finished its stages (untrained weights predict all
    the same)."""
    spec = model_spec(name)
    cfg = spec.test_config() if spec.test_config else spec.config_cls(name=name)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    if model.pipeline is not None:
        model.stages_trained.fill_(model.pipeline.num_stages)
    return model.to(device)


def test_registry_lists_the_models():
    assert {"blank", "convlstm", "copy_last", "linear_extrapolation", "s_hr_vqvae", "svg", "video_vqvae", "vrnn", "vrnn_gan"} <= set(MODELS)
    with pytest.raises(ConfigError, match="unknown model 'nope'; known models: blank, convlstm, copy_last, "
                                          "linear_extrapolation, s_hr_vqvae, svg, video_vqvae, vrnn, vrnn_gan"):
        model_spec("nope")


@pytest.mark.parametrize("name", MODELS)
def test_predict_shape_range_and_sampling(name, device):
    model = contract_model(name, device)
    cfg = model.config
    batch = model.example_batch(cfg, batch_size=2).to(device)
    context = batch[:, :cfg.num_context]
    g = torch.Generator(device).manual_seed(0)
    out = model.predict(context, horizon=5, num_samples=3, generator=g)
    assert out.shape == (2, 3, 5, cfg.channels, cfg.image_size, cfg.image_size) and out.device.type == device.type
    assert 0.0 <= out.min() and out.max() <= 1.0
    again = model.predict(context, horizon=5, num_samples=3, generator=torch.Generator(device).manual_seed(0))
    assert torch.equal(out, again)  # reproducible with a seeded generator
    if model.stochastic:
        assert not torch.equal(out[:, 0], out[:, 1]) and not torch.equal(out[:, 1], out[:, 2])
    else:
        assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])
    loss = model.loss(batch)
    assert loss.total.dim() == 0 and torch.isfinite(loss.total)


@pytest.mark.parametrize("name", MODELS)
def test_save_load_round_trip(name, tmp_path, device):
    model = contract_model(name, device)
    save_model(model, tmp_path / name)
    loaded = load_model(tmp_path / name, device=str(device))
    assert loaded.config == model.config
    import os

    mask = os.umask(0)
    os.umask(mask)
    for file in ("model.safetensors", "config.yaml"):  # shared like any output: readable by others
        assert (tmp_path / name / file).stat().st_mode & 0o777 == 0o666 & ~mask
    cfg = model.config
    context = torch.rand(1, cfg.num_context, cfg.channels, cfg.image_size, cfg.image_size, device=device)
    predict = lambda m: m.predict(context, 4, generator=torch.Generator(device).manual_seed(1))
    assert torch.equal(predict(loaded), predict(model))


@pytest.mark.parametrize("name", MODELS)
def test_bad_context_is_one_clear_sentence(name, device):
    model = contract_model(name, device)
    c, s = model.config.channels, model.config.image_size
    with pytest.raises(ValueError, match=rf"context has 0 frames; the model needs at least {model.min_context}"):
        model.predict(torch.rand(1, 0, c, s, s, device=device), 2)
    wrong = 3 if c == 1 else 1
    with pytest.raises(ValueError, match=rf"context frames are \({wrong}, {s}, {s}\) \(C, H, W\); the model takes "
                                         rf"\({c}, {s}, {s}\)"):
        model.predict(torch.rand(1, model.min_context, wrong, s, s, device=device), 2)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(torch.full((1, model.min_context, c, s, s), float("nan"), device=device), 2)


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
