"""SVG (Denton & Fergus 2018): what each network sees, generation from the model's own frames, the variants, sizes."""
import pytest
import torch

from vidpred.models.io import build_model, load_model, save_model
from vidpred.models.presets import PRESETS
from vidpred.nn.distributions import DiagonalGaussian


def svg(preset: str = "svg_lp_smmnist", **changes):
    torch.manual_seed(0)
    cfg = PRESETS[preset]()
    for key, value in changes.items():
        setattr(cfg, key, value)
    return build_model(cfg).eval()


def recorded_outputs(module: torch.nn.Module):
    """Every output of ``module`` while the returned list is alive (a forward hook)."""
    outputs = []
    module.register_forward_hook(lambda mod, args, out: outputs.append(out.detach().clone()))
    return outputs


def test_the_posterior_sees_x_t_and_the_prior_never_does():
    model = svg()
    clip = torch.rand(2, 8, 1, 64, 64)
    prior_out, posterior_out = recorded_outputs(model.learned_prior.out), recorded_outputs(model.posterior.out)
    model.loss(clip)
    changed = clip.clone()
    changed[:, 4] = torch.rand(2, 1, 64, 64)  # frame t = 4 (0-based)
    model.loss(changed)
    steps = clip.shape[1] - 1  # step s predicts frame s + 1 from frame s
    before_prior, after_prior = prior_out[:steps], prior_out[steps:]
    before_post, after_post = posterior_out[:steps], posterior_out[steps:]
    # z_4 (step 3): the posterior q(z_4 | x_1:4) sees frame 4; the prior p(z_4 | x_1:3) does not
    assert not torch.allclose(before_post[3], after_post[3])
    assert torch.equal(before_prior[3], after_prior[3])
    assert all(torch.equal(a, b) for a, b in zip(before_prior[:4], after_prior[:4]))
    assert not torch.allclose(before_prior[4], after_prior[4])  # p(z_5 | x_1:4) does see it
    # the same through prior_std: sigma_psi for z_1..z_4 is unchanged
    assert torch.equal(model.prior_std(clip)[:, :4], model.prior_std(changed)[:, :4])


def test_generated_frames_are_fed_back_and_the_future_is_never_seen():
    model = svg()
    context = torch.rand(1, 5, 1, 64, 64)
    encoded, decoded = [], recorded_outputs(model.decoder)
    model.encoder.register_forward_hook(lambda mod, args, out: encoded.append(args[0].detach().clone()))
    out = model.predict(context, horizon=4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(encoded[0], context.flatten(0, 1))  # the context, once
    # after the context, each encoder input is the frame the decoder just made
    assert len(decoded) == 4 and all(torch.equal(e, d) for e, d in zip(encoded[1:], decoded))
    assert torch.equal(out[0, 0], torch.cat(decoded))


@pytest.mark.parametrize("preset", ["svg_lp_smmnist", "svg_fp_smmnist", "svg_det_smmnist"])
def test_samples_differ_for_the_stochastic_variants_only_and_are_seeded(preset):
    model = svg(preset, width=8)
    context = torch.rand(2, 5, 1, 64, 64)
    one = model.predict(context, 3, num_samples=2, generator=torch.Generator().manual_seed(0))
    again = model.predict(context, 3, num_samples=2, generator=torch.Generator().manual_seed(0))
    other = model.predict(context, 3, num_samples=2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(one, again)
    assert model.stochastic == (preset != "svg_det_smmnist")
    assert torch.equal(one, other) != model.stochastic and torch.equal(one[:, 0], one[:, 1]) != model.stochastic


def test_the_loss_is_the_step_sum_of_pixel_mse_plus_beta_kl():
    model = svg(kl_warmup_steps=0)
    clip = torch.rand(3, 6, 1, 64, 64)
    out = model.loss(clip)
    assert set(out.parts) == {"mse", "kl"} and out.parts["kl"] > 0
    assert out.total.item() == pytest.approx((out.parts["mse"] + 1e-4 * out.parts["kl"]).item(), rel=1e-6)
    assert set(svg("svg_det_smmnist").loss(clip).parts) == {"mse"}
    # the fixed prior's KL is to N(0, I): the closed form on the posterior's own output
    fixed = svg("svg_fp_smmnist")
    posterior_out = recorded_outputs(fixed.posterior.out)
    kl = fixed.loss(clip).parts["kl"]
    by_hand = sum(0.5 * (m.pow(2) + v.exp() - v - 1).sum(1) for m, v in (p.chunk(2, dim=1) for p in posterior_out))
    assert kl.item() == pytest.approx(by_hand.mean().item(), rel=1e-4)  # a KL of ~2e-3: float32 sums


def test_kl_warmup_raises_beta_linearly_and_is_off_by_default():
    model = svg(kl_warmup_steps=4, width=8)
    model.train()
    weights = []
    for _ in range(6):
        weights.append(model.kl_weight())
        model.loss(torch.rand(2, 6, 1, 64, 64))
    assert weights == pytest.approx([0, 0.25e-4, 0.5e-4, 0.75e-4, 1e-4, 1e-4])
    assert PRESETS["svg_lp_smmnist"]().kl_warmup_steps == 0 and svg().kl_weight() == 1e-4


def _lstm(inputs: int, outputs: int, layers: int, gaussian: bool) -> int:
    """Parameters of an LSTMStack of 256 cells (§4.1): embedding, LSTM cells, output layer."""
    return (inputs * 256 + 256) + layers * (4 * 256 * 512 + 2 * 4 * 256) + (256 + 1) * outputs * (2 if gaussian else 1)


@pytest.mark.parametrize("preset,channels,z,beta,context,encoder,total", [
    ("svg_lp_smmnist", 1, 10, 1e-4, 5, "dcgan", 12_614_057),
    ("svg_fp_smmnist", 1, 10, 1e-4, 5, "dcgan", 12_049_557),
    ("svg_det_smmnist", 1, 10, 1e-4, 5, "dcgan", 11_482_497),
    ("svg_lp_kth", 1, 32, 1e-6, 10, "vgg", 22_788_353),
    ("svg_lp_bair", 3, 64, 1e-4, 2, "vgg", 22_831_747),
])
def test_presets_are_built_at_the_papers_sizes(preset, channels, z, beta, context, encoder, total):
    model = svg(preset)
    cfg = model.config
    assert (cfg.channels, cfg.z_dim, cfg.beta, cfg.num_context, cfg.num_predicted, cfg.encoder) == (
        channels, z, beta, context, 10, encoder)
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    latent = 0 if cfg.prior == "none" else z
    assert count(model.frame_predictor) == _lstm(128 + latent, 128, 2, False)  # 2 x 256, |g| = 128
    if cfg.prior != "none":
        assert count(model.posterior) == _lstm(128, z, 1, True)
    assert hasattr(model, "learned_prior") == (cfg.prior == "learned")
    if cfg.prior == "learned":
        assert count(model.learned_prior) == _lstm(128, z, 1, True)
    assert model.encoder(torch.rand(2, channels, 64, 64))[0].shape == (2, 128)  # |h| = 128
    assert count(model) == total
    print(f"{preset}: {total:,} parameters")


def test_save_and_load_keep_every_variant(tmp_path):
    for preset in ("svg_fp_smmnist", "svg_det_smmnist"):
        model = svg(preset, width=8)
        loaded = load_model(save_model(model, tmp_path / preset))
        context = torch.rand(1, 5, 1, 64, 64)
        g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
        assert torch.equal(loaded.predict(context, 2, 2, generator=g()), model.predict(context, 2, 2, generator=g()))


def test_a_gaussian_lstm_outputs_a_diagonal_gaussian():
    model = svg()
    q, state = model.posterior.step(torch.rand(4, 128), None)
    assert isinstance(q, DiagonalGaussian) and q.mean.shape == (4, 10) and len(state) == 1


def test_trains_through_vidpred_train_with_accumulated_batches(tmp_path, capsys):
    import yaml

    from vidpred.cli import main

    config = tmp_path / "svg.yaml"
    config.write_text(yaml.safe_dump({
        "name": "svg_tiny", "runs_dir": str(tmp_path / "runs"),
        "model": {"preset": "svg_lp_smmnist", "kl_warmup_steps": 10, "width": 8},
        "data": {"name": "stochastic_moving_mnist", "num_frames": 15, "num_test": 4},
        "optim": {"lr": 0.002},
        "trainer": {"max_steps": 2, "batch_size": 2, "accumulate_batches": 2, "checkpoint_every": 1,
                    "sample_every": 0, "log_every": 1, "accelerator": "cpu"}}))
    assert main(["train", str(config)]) == 0
    folder = tmp_path / "runs" / "svg_tiny"
    checkpoint = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)
    # two optimizer steps of two batches each: four batches read, the model's own step counter at four
    assert checkpoint["global_step"] == 2 and checkpoint["vidpred"]["batches_trained"] == 4
    model = load_model(folder)
    assert int(model.train_steps) == 4 and model.config.prior == "learned"
    out = model.predict(torch.rand(1, 5, 1, 64, 64), 3, 2, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 2, 3, 1, 64, 64)


class KnowsTheWalls(type(svg())):
    """An SVG-LP whose prior's sigma is 2 on the frames whose motion uses a velocity other than the previous
    frame's (derived here from the trajectory, not from its wall-hit record) and 1 elsewhere."""

    def prior_std(self, video):
        from vidpred.data import data_config
        from vidpred.data.stochastic_moving_mnist import synchronized

        _, path = synchronized(data_config("stochastic_moving_mnist", num_frames=video.shape[1]), 1, seed=0)
        v = path.velocities  # v[t]: the velocity from frame t to t + 1 (0-based)
        new = [f for f in range(2, video.shape[1]) if (v[f - 1] != v[f - 2]).any()]  # frame f moved on a new one
        sigma = torch.ones(video.shape[0], video.shape[1] - 1)
        sigma[:, [f - 1 for f in new]] = 2.0  # column j holds sigma of z for frame j + 1
        return sigma


def test_uncertainty_marks_the_frames_after_wall_hits_where_sigma_is_measured(tmp_path):
    from vidpred.data import data_config
    from vidpred.eval.uncertainty import prior_uncertainty

    model = KnowsTheWalls(PRESETS["svg_lp_smmnist"]())
    result = prior_uncertainty(model, data_config("stochastic_moving_mnist", num_frames=60), sequences=4)
    marked = sorted({f for frames in result["frames_after_wall_hits"].values() for f in frames})
    assert marked and result["peak_ratio"] == pytest.approx(2.0)  # sigma is 2 exactly on the marked frames
    assert [f for f, s in zip(result["frame"], result["sigma_mean"]) if s == 2.0] == marked


def test_the_uncertainty_command_writes_its_plot_and_refuses_other_models(tmp_path, capsys):
    from vidpred.cli import main

    folder = save_model(svg(), tmp_path / "lp", config={"data": {"name": "stochastic_moving_mnist", "num_digits": 1}})
    assert main(["uncertainty", str(folder), "--out", str(tmp_path / "u"), "--sequences", "3", "--frames", "30"]) == 0
    written = {p.name for p in (tmp_path / "u").iterdir() if p.name != ".vidpred-output.json"}  # and its record
    assert written == {"uncertainty.png", "uncertainty.csv", "uncertainty.json"}
    import json

    result = json.loads((tmp_path / "u" / "uncertainty.json").read_text())
    assert list(result["frames_after_wall_hits"]) == ["digit 1"]  # the run's own data settings: one digit
    assert len(result["sigma_mean"]) == 29 and "wall hits is" in capsys.readouterr().out
    save_model(svg("svg_fp_smmnist"), tmp_path / "fp")
    assert main(["uncertainty", str(tmp_path / "fp"), "--out", str(tmp_path / "v")]) == 2
    assert "an SVG model with a fixed prior; only SVG-LP learns a prior" in capsys.readouterr().err
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("kind", ["dcgan", "vgg"])
def test_frame_encoders_and_decoders_mirror_each_other_at_any_width(kind):
    from vidpred.nn.blocks import FrameDecoder, FrameEncoder

    for width in (16, 64):
        encoder, decoder = FrameEncoder(3, 32, kind, width), FrameDecoder(3, 32, kind, width)
        h, skips = encoder(torch.rand(2, 3, 64, 64))
        assert h.shape == (2, 32) and h.abs().max() <= 1  # tanh
        assert [s.shape[1] for s in skips] == [width, 2 * width, 4 * width, 8 * width]
        frames = decoder(h, skips)
        assert frames.shape == (2, 3, 64, 64) and 0 <= frames.min() and frames.max() <= 1  # sigmoid


def test_weights_start_as_the_code_release_initialises_them():
    """edenton/svg's utils.init_weights: conv / linear weights N(0, 0.02), biases 0, BatchNorm scales N(1, 0.02);
    the LSTM cells keep PyTorch's uniform(-1/sqrt(256), 1/sqrt(256))."""
    model = svg()
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.std().item() - 0.02) < 0.0005 and abs(weights.mean().item()) < 0.0005
    assert all(m.bias is None or not m.bias.any() for m in convs)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    scales = torch.cat([m.weight for m in norms])
    assert abs(scales.mean().item() - 1) < 0.005 and abs(scales.std().item() - 0.02) < 0.005
    assert not any(m.bias.any() for m in norms)
    cell = model.frame_predictor.cells[0].weight_hh
    assert cell.abs().max() <= 1 / 16 and cell.std() > 0.03  # uniform(-1/16, 1/16) has std 0.036
    # the decoder's last layer in particular (PyTorch's default made it ~7x larger)
    assert abs(model.decoder.last[0].weight.std().item() - 0.02) < 0.002
