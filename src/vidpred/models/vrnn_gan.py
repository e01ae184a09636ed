"""The GAN variant of the improved VRNN (Castrejon's talk slides, "GANs for Video Prediction (ongoing work)").

Generator G (slides, "Generator G": "we reuse the Generator G architecture that we used as the decoder for the VRNN;
however, there is only a latent per timestep and there is no output-input autoregression"): the VRNN's likelihood
network (``models/vrnn.py``: a ConvLSTM per resolution from 1x1 up, states initialised from the context frames'
features) driven at every step by the last context frame's 1x1 encoding and one latent z_t ~ N(0, I) of ``z_dim``
channels at 1x1. The generated frames are never fed back.

Discriminator D (slides, "Discriminator D": Conv2D layers "to process low level details and Conv3D on features";
"full Conv3D usually diverges, this setup is close to a dual discriminator (image + video)"): DCGAN-style Conv2D
layers on every frame (4x4, stride 2, LeakyReLU(0.2), GroupNorm after the first; ``disc_width`` x 1, 2, 4 channels:
64x64 -> 8x8), then two 3x3x3 Conv3D layers on those features over time (stride 2 in space), a mean over time and
space and a linear layer: one logit per clip. D judges whole clips: real ones (context + true future) and generated
ones (the same context + G's future). Widths, depths and GroupNorm (rather than BatchNorm, whose batch statistics
would mix real and generated clips) are our choices; the slides show none.

Losses (slides, "Cost function"), with D(x) = sigmoid(logit), in softplus form:
J_D = -1/2 E log D(x) - 1/2 E log(1 - D(G(z)))  and the non-saturating  J_G = -1/2 E log D(G(z)).
Trains with the "adversarial" kind (``training/adversarial.py``): a discriminator step, then a generator step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidpred.models.base import LossOutput, ModelConfig, ModelSpec, Predictor, Tensor
from vidpred.models.vrnn import FrameEncoder, Likelihood, VRNNConfig
from vidpred.nn.blocks import group_norm


@dataclass
class VRNNGANConfig(ModelConfig):
    name: str = "vrnn_gan"
    width: int = 64  # the generator's encoder / decoder width, as the VRNN's
    z_dim: int = 10  # the per-step latent's channels (at 1x1)
    convlstm_layers: int = 6  # ConvLSTMs in the generator, at its coarsest resolutions (as the VRNN's likelihood)
    disc_width: int = 64  # the discriminator's first Conv2D channels
    num_context: int = 5
    num_predicted: int = 10

    def decoder_config(self) -> VRNNConfig:
        """The VRNN config whose frame encoder and likelihood network the generator is built from: one latent level
        at 1x1, as the slides' "a latent per timestep"."""
        return VRNNConfig(width=self.width, z_dim=self.z_dim, levels=(1,), convlstm_layers=self.convlstm_layers,
                          channels=self.channels, image_size=self.image_size, num_context=self.num_context,
                          num_predicted=self.num_predicted)

    def validate(self) -> None:
        super().validate()
        self.decoder_config().validate()
        if self.disc_width < 1:
            raise ValueError("disc_width must be positive")


class ClipDiscriminator(nn.Module):
    """Clips (B, T, C, H, W) -> one logit per clip: Conv2D per frame, then Conv3D over time (module docstring)."""

    def __init__(self, channels: int, width: int, image_size: int):
        super().__init__()
        w1, w2, w4, w8 = width, 2 * width, 4 * width, 8 * width
        s4, s8 = image_size // 4, image_size // 8
        self.frames = nn.Sequential(
            nn.Conv2d(channels, w1, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(w1, w2, 4, 2, 1), group_norm(w2, s4), nn.LeakyReLU(0.2),
            nn.Conv2d(w2, w4, 4, 2, 1), group_norm(w4, s8), nn.LeakyReLU(0.2))
        self.time = nn.Sequential(
            nn.Conv3d(w4, w8, 3, stride=(1, 2, 2), padding=1), nn.LeakyReLU(0.2),
            nn.Conv3d(w8, w8, 3, stride=(1, 2, 2), padding=1), nn.LeakyReLU(0.2))
        self.head = nn.Linear(w8, 1)

    def forward(self, clips: Tensor) -> Tensor:
        b, t = clips.shape[:2]
        features = self.frames(clips.flatten(0, 1))
        features = features.view(b, t, *features.shape[1:]).transpose(1, 2)  # (B, c, T, h, w) for Conv3D
        return self.head(self.time(features).mean(dim=(2, 3, 4))).squeeze(1).float()


class VRNNGAN(Predictor):
    stochastic = True

    def __init__(self, config: VRNNGANConfig):
        super().__init__(config)
        # the initial states take exactly this many frames (the last ones)
        self.min_context = self.max_context = config.num_context
        decoder = config.decoder_config()
        self.encoder = FrameEncoder(decoder)
        self.generator_net = Likelihood(decoder)
        self.discriminator = ClipDiscriminator(config.channels, config.disc_width, config.image_size)

    def generator_parameters(self):
        return [*self.encoder.parameters(), *self.generator_net.parameters()]

    def discriminator_parameters(self):
        return list(self.discriminator.parameters())

    def generate(self, context: Tensor, horizon: int, generator: torch.Generator | None = None) -> Tensor:
        """G: the last ``num_context`` frames of ``context`` (B, k, C, H, W) -> ``horizon`` frames, one z per step."""
        b = context.shape[0]
        features = self.encoder.encode_video(context[:, -self.config.num_context:])
        states = self.generator_net.initial_states(features)
        skips = {r: f[:, -1] for r, f in features.items()}
        top = features[1][:, -1]
        frames = []
        for _ in range(horizon):
            z = torch.randn(b, self.config.z_dim, 1, 1, generator=generator, dtype=torch.float32,
                            device=generator.device if generator is not None else context.device).to(context.device)
            logits, states = self.generator_net.step(top, {1: z}, states, skips)
            frames.append(torch.sigmoid(logits.float()))
        return torch.stack(frames, dim=1)

    def _fake(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """The clip D sees as generated: the batch's context and G's continuation; and that continuation."""
        k = self.config.num_context
        self.check_context(batch[:, :k])
        future = self.generate(batch[:, :k], batch.shape[1] - k)
        return torch.cat([batch[:, :k], future.to(batch.dtype)], dim=1), future

    def discriminator_loss(self, batch: Tensor) -> LossOutput:
        with torch.no_grad():  # D's step does not reach G
            fake, _ = self._fake(batch)
        real_logit, fake_logit = self.discriminator(batch), self.discriminator(fake)
        loss = 0.5 * (F.softplus(-real_logit).mean() + F.softplus(fake_logit).mean())
        return LossOutput(loss, {"d_real": torch.sigmoid(real_logit).mean().detach(),
                                 "d_fake": torch.sigmoid(fake_logit).mean().detach()})

    def generator_loss(self, batch: Tensor) -> LossOutput:
        fake, future = self._fake(batch)
        loss = 0.5 * F.softplus(-self.discriminator(fake)).mean()
        mse = (future - batch[:, self.config.num_context:]).pow(2).mean()
        return LossOutput(loss, {"mse": mse.detach()})

    def loss(self, batch: Tensor) -> LossOutput:
        """Validation: the generator's loss, with the discriminator's beside it."""
        out = self.generator_loss(batch)
        d = self.discriminator_loss(batch)
        return LossOutput(out.total, {**out.parts, "discriminator": d.total.detach(), **d.parts})

    def _predict(self, context: Tensor, horizon: int, num_samples: int, generator, temperature: float) -> Tensor:
        b = context.shape[0]
        video = self.generate(context.repeat_interleave(num_samples, dim=0), horizon, generator)
        return video.view(b, num_samples, *video.shape[1:])


def _test_config() -> VRNNGANConfig:
    return VRNNGANConfig(name="vrnn_gan", width=4, z_dim=2, convlstm_layers=3, disc_width=4, image_size=16,
                         num_context=2, num_predicted=3)


SPEC = ModelSpec("vrnn_gan", VRNNGANConfig, VRNNGAN,
                "GAN variant of the improved VRNN (Castrejon's slides): the VRNN decoder as generator, one "
                "latent per step; Conv2D + Conv3D clip discriminator", training="adversarial",
                test_config=_test_config)
