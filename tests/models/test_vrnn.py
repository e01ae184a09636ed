"""The improved conditional VRNN: what each latent network sees, the hierarchy's switches, the ELBO, sizes."""
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vidpred.models.io import build_model
from vidpred.models.presets import PRESETS
from vidpred.models.vrnn import LatentNet, VRNNConfig


def vrnn(**changes):
    """A small VRNN on 16x16 frames (resolutions 16, 8, 4, 1): 2 context frames, three latent levels."""
    fields = dict(width=4, z_dim=2, levels=(1, 4, 8), convlstm_layers=3, image_size=16, num_context=2,
                  num_predicted=3, beta_warmup_clips=0)
    torch.manual_seed(0)
    model = build_model(VRNNConfig(**{**fields, **changes})).eval()
    for net in [*model.prior, *model.posterior]:  # they start at zero (a constant N(0, softplus(0))): as trained
        torch.nn.init.normal_(net.out[-1].weight, std=0.3)  # the head's GroupNorm scale
    return model


def recorded_outputs(module: torch.nn.Module):
    outputs = []
    module.register_forward_hook(lambda mod, args, out: outputs.append(out.detach().clone()))
    return outputs


def seeded_loss(model, clip, seed=1):
    torch.manual_seed(seed)  # the same posterior draws for the same inputs
    return model.loss(clip)


def test_the_posterior_sees_x_t_and_the_prior_never_does(monkeypatch):
    model = vrnn()
    seen = []  # (network, the features it was given) for every call of a latent network
    step = LatentNet.step
    monkeypatch.setattr(LatentNet, "step", lambda self, features, *rest: (seen.append((self, features.clone())),
                                                                         step(self, features, *rest))[1])
    clip = torch.rand(2, 5, 1, 16, 16)
    top_prior = recorded_outputs(model.prior[0].out)
    seeded_loss(model, clip)
    changed = clip.clone()
    changed[:, 3] = torch.rand(2, 1, 16, 16)  # x_t of the second future step (context is frames 0 and 1)
    calls = len(seen)
    seeded_loss(model, changed)
    before, after = seen[:calls], seen[calls:]
    per_step = 2 * len(model.levels)  # posterior then prior, per level

    def features(calls, step, nets):
        return [f for net, f in calls[step * per_step:(step + 1) * per_step] if any(net is n for n in nets)]

    # at step 1 (frame 3) every prior gets the same inputs from the frames; every posterior gets frame 3
    assert all(torch.equal(a, b) for a, b in zip(features(before, 1, model.prior), features(after, 1, model.prior)))
    assert not any(torch.equal(a, b) for a, b in zip(features(before, 1, model.posterior),
                                                     features(after, 1, model.posterior)))
    assert torch.equal(top_prior[1], top_prior[4])  # the top level's prior at step 1 is unchanged altogether
    assert not torch.equal(top_prior[2], top_prior[5])  # p(z_2 | x_<=3 ...) sees frame 3


def test_a_level_is_conditioned_only_on_the_levels_above_and_the_past():
    model = vrnn()
    clip = torch.rand(2, 5, 1, 16, 16)
    priors = [recorded_outputs(net.out) for net in model.prior]
    seeded_loss(model, clip)
    # move the finest level's posterior draws far away: no coarser level and no prior at that step may notice
    model.posterior[2].out.register_forward_hook(lambda mod, args, out: out + 3.0)
    seeded_loss(model, clip)
    steps = 3
    for level in (0, 1):
        assert all(torch.equal(a, b) for a, b in zip(priors[level][:steps], priors[level][steps:]))
    assert torch.equal(priors[2][0], priors[2][steps])  # the finest prior at step 0 sees no z of step 0
    assert not torch.equal(priors[2][1], priors[2][steps + 1])  # at step 1 it sees its level's z_0


@pytest.mark.parametrize("dense", [True, False])
def test_dense_connections_give_a_level_every_level_above_or_only_its_parent(dense):
    model = vrnn(dense=dense)
    assert model.conditioning(0) == () and model.conditioning(1) == (0,)
    assert model.conditioning(2) == ((0, 1) if dense else (1,))
    z = [torch.randn(1, 2, 1, 1, requires_grad=True), torch.randn(1, 16, 4, 4, requires_grad=True)]
    condition = model._condition(2, z)
    assert condition.shape[-2:] == (8, 8)
    grads = torch.autograd.grad(condition.sum(), z, allow_unused=True)
    assert grads[1] is not None and grads[1].abs().sum() > 0
    assert (grads[0] is not None and grads[0].abs().sum() > 0) == dense
    hidden = model.config.channels_at(8)
    assert model.prior[2].out[0].in_channels == hidden + (2 + 16 if dense else 16)


def test_the_loss_is_the_nll_plus_beta_kl_and_each_levels_kl_is_the_closed_form():
    model = vrnn(beta=0.5)
    clip = torch.rand(2, 5, 1, 16, 16)
    params = {id(n.out): recorded_outputs(n.out) for n in [*model.prior, *model.posterior]}
    out = seeded_loss(model, clip)
    for level, size in enumerate(model.levels):
        total = 0.0
        for q_params, p_params in zip(params[id(model.posterior[level].out)], params[id(model.prior[level].out)]):
            (qm, qr), (pm, pr) = q_params.chunk(2, 1), p_params.chunk(2, 1)
            q = Normal(qm, torch.nn.functional.softplus(qr).sqrt())
            p = Normal(pm, torch.nn.functional.softplus(pr).sqrt())
            total = total + kl_divergence(q, p).sum(dim=(1, 2, 3))
        torch.testing.assert_close(out.parts[f"kl_r{size}"], total.mean(), rtol=1e-4, atol=1e-6)
    kl = sum(out.parts[f"kl_r{r}"] for r in model.levels)
    torch.testing.assert_close(out.parts["kl"], kl)
    torch.testing.assert_close(out.parts["elbo"], out.parts["nll"] + kl)
    torch.testing.assert_close(out.total, out.parts["nll"] + 0.5 * kl)
    # the Bernoulli NLL of a clip is at least its entropy and at most 16 x 16 x 3 values x log 2 + a margin
    assert 0 < out.parts["nll"] < 16 * 16 * 3 * 2


def test_beta_warms_up_linearly_over_training_clips_as_the_release_does():
    model = vrnn(beta=2.0, beta_warmup_clips=10)
    assert model.beta_now() == 0.0
    model.train_clips.fill_(5)
    assert model.beta_now() == 1.0
    model.train_clips.fill_(20)
    assert model.beta_now() == 2.0
    assert vrnn(beta=2.0, beta_warmup_clips=0).beta_now() == 2.0
    trained = vrnn(beta_warmup_clips=10).train()
    trained.loss(torch.rand(3, 5, 1, 16, 16))
    assert int(trained.train_clips) == 3  # clips, not batches
    # the release's 20 epochs: of SM-MNIST's 60,000 sequences by default and in the SM-MNIST presets
    assert VRNNConfig().beta_warmup_clips == PRESETS["vrnn_smmnist"]().beta_warmup_clips == 1_200_000
    assert PRESETS["vrnn_bair"]().beta_warmup_clips == 20 * 43_264


def test_switching_off_levels_removes_their_networks_and_loss_parts():
    one = vrnn(levels=(1,))
    out = one.loss(torch.rand(2, 5, 1, 16, 16))
    assert set(out.parts) == {"nll", "kl", "elbo", "kl_r1"} and len(one.prior) == len(one.posterior) == 1
    three = vrnn()
    assert {"kl_r1", "kl_r4", "kl_r8"} <= set(three.loss(torch.rand(2, 5, 1, 16, 16)).parts)
    # the latents enter the likelihood at their resolutions: its 4x4 block takes the level's channels on top
    blocks = dict(zip(three.likelihood.sizes, three.likelihood.blocks))
    assert blocks[4].input_gates[0].in_channels == one.likelihood.blocks[1].input_gates[0].in_channels + 16
    with pytest.raises(ValueError, match="levels"):
        VRNNConfig(levels=(8, 1)).validate()
    with pytest.raises(ValueError, match="convlstm_layers"):
        VRNNConfig(convlstm_layers=7).validate()


def test_generation_feeds_back_its_own_frames_and_uses_the_last_context_frames():
    model = vrnn()
    context = torch.rand(1, 4, 1, 16, 16)
    inputs = recorded_outputs(model.encoder.stages[0])  # the first stage's output, one per encoded batch
    out = model.predict(context, 3, 2, generator=torch.Generator().manual_seed(0))
    assert len(inputs) == 1 + 2  # the context once, then every generated frame but the last
    again = context.clone()
    again[:, :2] = torch.rand(1, 2, 1, 16, 16)  # frames before the model's two context frames
    assert torch.equal(model.predict(again, 3, 2, generator=torch.Generator().manual_seed(0)), out)
    again[:, -1] = torch.rand(1, 1, 16, 16)
    assert not torch.equal(model.predict(again, 3, 2, generator=torch.Generator().manual_seed(0)), out)
    with pytest.raises(ValueError, match="at least 2"):
        model.predict(context[:, :1], 3)


def recorded_inputs(module: torch.nn.Module):
    inputs = []
    module.register_forward_pre_hook(lambda mod, args: inputs.append(args[0].detach().clone()))
    return inputs


def test_generation_feeds_back_the_mode_or_the_mean_and_returns_the_means_either_way():
    context = torch.rand(2, 2, 1, 16, 16)
    out = {}
    for feedback in ("mode", "mean"):
        model = vrnn(feedback=feedback)
        inputs = recorded_inputs(model.encoder)
        out[feedback] = model.predict(context, 3, 2, generator=torch.Generator().manual_seed(0))
        fed_back = torch.stack(inputs[1:], dim=1)  # (B * samples, 2, 1, 16, 16): the first two predictions
        predicted = out[feedback].flatten(0, 1)[:, :2]
        if feedback == "mode":
            assert torch.equal(fed_back, (predicted > 0.5).float())
        else:
            assert torch.equal(fed_back, predicted)
        assert ((predicted > 0) & (predicted < 1)).any() and not torch.equal(predicted, predicted.round())
    # the same draws: the first frame, which sees only the context, is the same; the later ones are not
    assert torch.equal(out["mode"][:, :, 0], out["mean"][:, :, 0])
    assert not torch.allclose(out["mode"][:, :, 1:], out["mean"][:, :, 1:])
    laplace = [vrnn(likelihood="laplace", feedback=feedback) for feedback in ("mode", "mean")]
    assert torch.equal(*(m.predict(context, 3, 2, generator=torch.Generator().manual_seed(0)) for m in laplace))


@pytest.mark.parametrize("preset, total", [
    ("vrnn_smmnist", 202_511_289), ("vrnn_smmnist_levels_1", 130_291_641), ("vrnn_smmnist_levels_1_8", 198_002_617),
    ("vrnn_smmnist_levels_1_8_16_32", 220_113_849), ("vrnn_smmnist_convlstm_1", 75_909_817),
    ("vrnn_smmnist_convlstm_3", 122_616_505), ("vrnn_bair", 149_721_595), ("vrnn_cityscapes", 194_401_851)])
def test_presets_construct_at_their_sizes(preset, total):
    cfg = PRESETS[preset]()
    with torch.device("meta"):
        model = build_model(cfg)
    assert sum(p.numel() for p in model.parameters()) == total
    assert model.config.width == 64 and model.config.z_dim == 10 and model.config.num_predicted == 10
    assert model.config.likelihood == ("bernoulli" if cfg.channels == 1 else "laplace")


def test_trains_through_vidpred_train_and_the_elbo_command_reports_each_level(tmp_path, capsys):
    import csv
    import json

    import yaml

    from vidpred.cli import main
    from vidpred.models.io import load_model

    config = tmp_path / "vrnn.yaml"
    config.write_text(yaml.safe_dump({
        "name": "vrnn_tiny", "runs_dir": str(tmp_path / "runs"),
        "model": {"preset": "vrnn_smmnist_small", "width": 2, "beta_warmup_clips": 8},
        "data": {"name": "stochastic_moving_mnist", "num_frames": 15, "num_test": 4},
        "optim": {"lr": 0.0001},
        "trainer": {"max_steps": 2, "batch_size": 2, "checkpoint_every": 1, "sample_every": 0, "log_every": 1,
                    "accelerator": "cpu"}}))
    assert main(["train", str(config)]) == 0
    folder = tmp_path / "runs" / "vrnn_tiny"
    rows = list(csv.DictReader(open(folder / "logs" / "csv" / "metrics.csv")))
    logged = {key for row in rows for key, value in row.items() if value}
    assert {"train/kl_r1", "train/kl_r8", "train/nll", "train/elbo"} <= logged
    model = load_model(folder)
    assert int(model.train_clips) == 4 and model.levels == (1, 8)  # 2 batches of 2
    out = model.predict(torch.rand(1, 5, 1, 64, 64), 2, 2, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 2, 2, 1, 64, 64)
    capsys.readouterr()
    assert main(["elbo", str(folder), "--out", str(tmp_path / "elbo"), "--sequences", "3"]) == 0
    printed = capsys.readouterr().out
    assert "train: negative ELBO" in printed and "test: negative ELBO" in printed and "level 8" in printed
    result = json.loads((tmp_path / "elbo" / "elbo.json").read_text())
    for split in ("train", "test"):
        r = result["splits"][split]
        assert r["sequences"] == 3 and r["elbo"] == pytest.approx(r["nll"] + r["kl"], rel=1e-5)
        assert r["kl"] == pytest.approx(sum(r["kl_per_level"].values()), rel=1e-5)
        assert len(r["kl_per_level_and_step"]["1"]) == 10
    assert result["training_log"]["8"]["step"]  # the training curve of each level, from the run's log
    assert (tmp_path / "elbo" / "elbo.png").stat().st_size > 10_000
    (folder / "model.safetensors").unlink()  # as a run still training: its last checkpoint is measured
    assert main(["elbo", str(folder), "--out", str(tmp_path / "unfinished"), "--sequences", "2"]) == 0
    assert "has not finished training; measuring its last checkpoint (step 2)" in capsys.readouterr().err
    assert main(["elbo", str(folder), "--out", str(tmp_path / "again"), "--sequences", "3", "num_frames=8"]) == 2
    assert "8-frame clips; the model's ELBO is over 15 frames" in capsys.readouterr().err
    assert not (tmp_path / "again").exists()


def test_the_elbo_is_refused_for_models_without_latents():
    from vidpred.config import ConfigError
    from vidpred.data import data_config
    from vidpred.eval.elbo import elbo_report
    from vidpred.models.registry import model_spec

    model = build_model(model_spec("copy_last").config_cls(name="copy_last"))
    with pytest.raises(ConfigError, match="the ELBO is measured for latent-variable models"):
        elbo_report(model, data_config("stochastic_moving_mnist"))


def test_normalisation_follows_the_release_with_at_least_two_channels_per_group():
    """[fidelity 12] improved_vrnn's layers.py / vrnn_hier.py: GroupNorm(4) in residual, conv and up blocks, (16) in
    ConvLSTMs, never a one-channel group (an InstanceNorm) at our widths; norms after each latent head (zero scale)
    and at the end of each initial-state net; a ConvLSTM's input and hidden convolutions normalised apart."""
    model = build_model(PRESETS["vrnn_smmnist_small"]())  # width 8: 8- and 16-channel layers
    norms = [m for m in model.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert all(m.num_channels // m.num_groups >= 2 for m in norms)
    assert all(m.num_groups <= 4 for m in model.encoder.modules() if isinstance(m, torch.nn.GroupNorm))
    assert max(m.num_groups for m in norms) == 16  # a ConvLSTM's 4 x 64 gate channels at 4x4
    for net in [*model.prior, *model.posterior]:
        head = net.out[-1]
        assert isinstance(head, torch.nn.GroupNorm) and head.num_groups == 1 and not head.weight.any()
        assert isinstance(net.init.net[-1], torch.nn.GroupNorm) and net.init.net[-1].num_groups == 1
    cell = model.likelihood.blocks[1]  # the 4x4 ConvLSTM
    assert hasattr(cell, "input_gates") and hasattr(cell, "hidden_gates")
    # the cell state it keeps is the normalised one: per group zero mean, unit variance (the norm's affine at rest)
    x = torch.randn(2, cell.input_gates[0].in_channels, 4, 4)
    _, (_, c) = cell(x, (torch.randn(2, 64, 4, 4), torch.randn(2, 64, 4, 4)))
    groups = c.view(2, cell.cell_norm.num_groups, -1)
    torch.testing.assert_close(groups.mean(-1), torch.zeros(2, groups.shape[1]), atol=1e-5, rtol=0)
    torch.testing.assert_close(groups.var(-1, unbiased=False), torch.ones(2, groups.shape[1]), atol=1e-3, rtol=0)


def test_legacy_norms_build_the_layout_the_shipped_cpu_model_was_trained_with():
    cfg = PRESETS["vrnn_smmnist_small"]()
    cfg.legacy_norms = True
    legacy = build_model(cfg)
    assert any(m.num_channels == m.num_groups > 1 for m in legacy.modules() if isinstance(m, torch.nn.GroupNorm))
    assert isinstance(legacy.prior[0].out, torch.nn.Conv2d) and hasattr(legacy.likelihood.blocks[1], "gates")
    from vidpred.models.io import load_model

    shipped = load_model("pretrained/smmnist_vrnn")  # builds and loads without a missing or unexpected weight
    assert shipped.config.legacy_norms


@pytest.mark.parametrize("conditioning", ["talk", "release"])
def test_the_release_prior_sees_the_past_frames_only_the_talks_also_the_latents(conditioning):
    """[fidelity 13] improved_vrnn's vrnn_hier.py: a prior p(z_t^l | x_<t) takes the frame features alone; the talk's
    p(z_t^l | z_<t^l, x_<t, z_t^<l) also this level's previous z and the levels above."""
    model = vrnn(prior_conditioning=conditioning)
    clip = torch.rand(2, 5, 1, 16, 16)
    priors = [recorded_outputs(net.out) for net in model.prior]
    seeded_loss(model, clip)
    for net in model.posterior:  # every posterior draw moves: the latents change, the frames do not
        net.out.register_forward_hook(lambda mod, args, out: out + 3.0)
    seeded_loss(model, clip)
    steps = 3
    unchanged = [all(torch.equal(a, b) for a, b in zip(p[:steps], p[steps:])) for p in priors]
    assert unchanged == [conditioning == "release"] * 3
    # the talk's top level sees its own previous z only from the second step on
    assert torch.equal(priors[0][0], priors[0][steps]) and (conditioning == "release") == torch.equal(
        priors[0][1], priors[0][steps + 1])
    out = model.predict(clip[:, :2], 3, 2, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 2, 3, 1, 16, 16) and torch.isfinite(out).all()
