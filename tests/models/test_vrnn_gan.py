"""The VRNN's GAN variant: what the discriminator sees, which step moves which network, resume after SIGKILL."""
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from vidpred.models.io import build_model, load_model
from vidpred.models.presets import PRESETS
from vidpred.models.vrnn_gan import VRNNGANConfig
from vidpred.training.config import load_experiment
from vidpred.training.module import optimizer_and_scheduler

VIDPRED = str(Path(sys.executable).with_name("vidpred"))
TINY = {"width": 4, "z_dim": 2, "convlstm_layers": 3, "disc_width": 4, "image_size": 32, "num_context": 2,
        "num_predicted": 2}


def gan():
    torch.manual_seed(0)
    return build_model(VRNNGANConfig(**TINY))


def test_the_discriminator_sees_real_clips_and_the_generators_continuations_of_their_context():
    model = gan()
    batch = torch.rand(3, 4, 1, 32, 32)
    seen = []
    model.discriminator.register_forward_hook(lambda mod, args, out: seen.append(args[0].detach().clone()))
    torch.manual_seed(5)
    model.discriminator_loss(batch)
    torch.manual_seed(5)
    expected = model.generate(batch[:, :2], 2)
    real, fake = seen
    assert torch.equal(real, batch)
    assert torch.equal(fake[:, :2], batch[:, :2]) and torch.equal(fake[:, 2:], expected)
    assert not torch.equal(fake[:, 2:], batch[:, 2:])


def test_each_step_moves_only_its_own_network():
    model = gan()
    cfg = load_experiment(base={"name": "g", "model": {"name": "vrnn_gan", **TINY},
                                "data": {"name": "moving_mnist", "image_size": 32, "num_frames": 4}})
    g_params, d_params = model.generator_parameters(), model.discriminator_parameters()
    assert {id(p) for p in g_params}.isdisjoint({id(p) for p in d_params})
    assert len(g_params) + len(d_params) == len(list(model.parameters()))
    batch = torch.rand(2, 4, 1, 32, 32)
    for loss, own, other in ((model.discriminator_loss, d_params, g_params), (model.generator_loss, g_params, d_params)):
        optimizer, _ = optimizer_and_scheduler(own, cfg)
        model.zero_grad(set_to_none=True)
        before = [p.detach().clone() for p in model.parameters()]
        loss(batch).total.backward()
        if loss == model.discriminator_loss:
            assert all(p.grad is None for p in g_params)  # the discriminator's loss does not reach the generator
        optimizer.step()
        moved = {id(p) for p, b in zip(model.parameters(), before) if not torch.equal(p, b)}
        assert moved and moved <= {id(p) for p in own}
        assert not moved & {id(p) for p in other}


def test_samples_differ_per_latent_and_frames_are_never_fed_back():
    model = gan().eval()
    context = torch.rand(1, 2, 1, 32, 32)
    inputs = []
    model.encoder.register_forward_hook(lambda mod, args, out: inputs.append(args[0].shape[0]))
    out = model.predict(context, 4, 3, generator=torch.Generator().manual_seed(0))
    assert inputs == [3 * 2]  # only the context is encoded: no output -> input autoregression
    assert not torch.equal(out[:, 0], out[:, 1])


def test_presets_construct():
    with torch.device("meta"):
        model = build_model(PRESETS["vrnn_gan_smmnist"]())
    assert sum(p.numel() for p in model.generator_parameters()) == 107_140_929
    assert sum(p.numel() for p in model.discriminator_parameters()) == 11_275_969


def _digest(folder: Path) -> str:
    return (folder / "logs" / "weights_digest_rank0.txt").read_text().strip()


def test_a_gan_run_killed_and_resumed_ends_bit_identical_to_an_uninterrupted_one(tmp_path, killed_at_first_checkpoint):
    config = tmp_path / "gan.yaml"
    config.write_text(yaml.safe_dump({
        "name": "whole", "runs_dir": str(tmp_path / "runs"), "model": {"name": "vrnn_gan", **TINY},
        "data": {"name": "moving_mnist", "image_size": 32, "digit_size": 16, "num_frames": 4, "num_test": 4},
        "optim": {"lr": 0.001},
        "trainer": {"max_steps": 30, "batch_size": 2, "checkpoint_every": 3, "sample_every": 0, "log_every": 1,
                    "deterministic": True, "accelerator": "cpu", "val_every": 0}}))
    subprocess.run([VIDPRED, "train", str(config)], check=True, capture_output=True)
    command = [VIDPRED, "train", str(config), "name=killed"]
    state = killed_at_first_checkpoint(command, tmp_path / "runs" / "killed" / "checkpoints" / "last.ckpt")
    assert 0 < state["global_step"] < 30, "the run was not interrupted mid-training"
    assert len(state["optimizer_states"]) == 2  # both networks' optimizers are in the checkpoint
    resumed = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "resuming killed from" in resumed.stderr
    assert _digest(tmp_path / "runs" / "killed") == _digest(tmp_path / "runs" / "whole")
    model = load_model(tmp_path / "runs" / "killed")
    assert torch.isfinite(model.predict(torch.rand(1, 2, 1, 32, 32), 2)).all()
