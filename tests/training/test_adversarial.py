"""The adversarial kind of training on a toy GAN: two optimizers, alternating steps, gradient clipping by hand,
global_step counting batches."""
from __future__ import annotations

import json
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidpred.models.base import LossOutput, ModelConfig, ModelSpec, Predictor
from vidpred.models.registry import MODELS
from vidpred.training.config import load_experiment
from vidpred.training.runner import train


@dataclass
class ToyGANConfig(ModelConfig):
    name: str = "toy_gan"
    num_context: int = 0
    num_predicted: int = 1


class ToyGAN(Predictor):
    """Generator: one learnable 64x64 image. Discriminator: a linear critic on pixels. The adversarial game moves the
    generated image towards the data's mean frame."""

    def __init__(self, config: ToyGANConfig):
        super().__init__(config)
        self.image = nn.Parameter(torch.zeros(1, 1, 64, 64))  # logits of the generated frame
        self.critic = nn.Linear(64 * 64, 1)

    def fake(self, n: int) -> torch.Tensor:
        return torch.sigmoid(self.image).expand(n, -1, -1, -1)

    def discriminator_loss(self, batch):
        real, fake = batch[:, 0].flatten(1), self.fake(len(batch)).detach().flatten(1)
        loss = F.softplus(-self.critic(real)).mean() + F.softplus(self.critic(fake)).mean()
        return LossOutput(loss, {})

    def generator_loss(self, batch):
        return LossOutput(F.softplus(-self.critic(self.fake(len(batch)).flatten(1))).mean(), {})

    loss = generator_loss

    def generator_parameters(self):
        return [self.image]

    def discriminator_parameters(self):
        return list(self.critic.parameters())

    def _predict(self, context, horizon, num_samples, generator, temperature):
        return self.fake(len(context)).view(-1, 1, 1, 1, 64, 64).expand(-1, num_samples, horizon, -1, -1, -1)


def test_toy_gan_trains_with_two_optimizers_alternating_and_clipped(tmp_path, monkeypatch):
    monkeypatch.setitem(MODELS, "toy_gan", ModelSpec("toy_gan", ToyGANConfig, ToyGAN, "a toy GAN",
                                                     training="adversarial"))
    clip_calls = []
    clip = torch.nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, *args, **kwargs):
        parameters = list(parameters)
        norm = clip(parameters, max_norm, *args, **kwargs)
        after = torch.norm(torch.stack([p.grad.norm() for p in parameters]))
        clip_calls.append((float(norm), float(after), len(parameters)))
        return norm

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    cfg = load_experiment(None, [f"runs_dir={tmp_path}", "name=gan", "model.name=toy_gan", "data.name=moving_mnist",
                                 "data.num_frames=2", "data.num_test=4", "optim.lr=0.05", "optim.grad_clip=0.5",
                                 "trainer.max_steps=200", "trainer.batch_size=16", "trainer.sample_every=0",
                                 "trainer.checkpoint_every=100"], base={"name": "gan", "model": {}, "data": {}})
    torch.manual_seed(0)
    before = ToyGAN(ToyGANConfig())
    folder = train(cfg)
    from vidpred.models.io import load_model

    after = load_model(folder)
    from vidpred.data import build_dataset

    data = build_dataset(cfg.data, "train")
    mean_frame = torch.stack([data[i][0] for i in range(256)]).mean(0)
    # most pixels of the generated frame reach the data's mean frame (a few may still oscillate, as GANs do)
    distance = lambda m: (m.fake(1)[0] - mean_frame).abs().median().item()
    assert distance(after) < 0.2 * distance(before)
    assert not torch.equal(after.critic.weight, before.critic.weight)
    summary = json.loads((folder / "logs" / "run_summary.json").read_text())
    assert summary["steps"] == 200  # global_step counts batches, not the two optimizers' steps
    assert len(clip_calls) == 400  # one clip per network per batch
    assert {n for _, _, n in clip_calls} == {1, 2}  # the generator's image; the critic's weight and bias
    assert all(after_norm <= 0.5 + 1e-4 for _, after_norm, _ in clip_calls)
    assert any(norm > 0.5 for norm, _, _ in clip_calls)  # clipping did act
