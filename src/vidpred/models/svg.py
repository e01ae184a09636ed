"""SVG: Stochastic Video Generation with a learned prior (Denton & Fergus, ICML 2018), its fixed-prior variant and
the deterministic baseline of the same paper.

A frame predictor LSTM_theta turns the encoding h_{t-1} of the previous frame and a latent z_t into g_t; a frame
decoder turns g_t, with skip connections from the encoder at the last context frame (§4.1), into x_t. During
training z_t comes from the inference network q_phi(z_t | x_{1:t}) (an LSTM over the encodings h_t: it sees the
frame it helps predict) and the loss is, per step (§3, Appendix A),

    || x_t - x̂_t ||^2  +  beta * KL( q_phi(z_t | x_{1:t}) || p(z_t) )

with one reparameterised sample; the squared error is the mean over pixels (the fixed-variance Gaussian likelihood
up to scale, as the code release computes it), the KL is summed over z's dimensions and averaged over the batch,
both summed over the steps t = 2..T of the clip -- context steps included, as the release does. The prior p(z_t) is

- ``prior="learned"`` (SVG-LP): an LSTM_psi over the previous frames, p_psi(z_t | x_{1:t-1}), trained by the KL;
- ``prior="fixed"`` (SVG-FP): N(0, I);
- ``prior="none"``: the deterministic baseline, the same networks without z (§4.1).

Training feeds the true previous frame at every step (teacher forcing, §3). Generation (§3): over the context the
networks advance on the true frames (z from the posterior, which sees them, as the release does); after it, z_t is
drawn from the prior and each generated frame is encoded and fed back, so the predictions depend on nothing but the
context and the draws.

Sizes (§4.1): LSTM_theta 2 layers x 256 cells, LSTM_phi and LSTM_psi 1 layer x 256, each with a linear embedding
and a fully connected output (tanh on LSTM_theta's); |h| = |g| = 128; |z| = 10 for SM-MNIST, 32 for KTH, 64 for
BAIR. Encoder / decoder: DCGAN for SM-MNIST, VGG16-style for KTH and BAIR (``nn/blocks.py``), 64x64 frames.
Where the paper is silent we follow its code release: BatchNorm in the encoder and decoder (here in eval mode
when predicting, with running statistics; the release keeps batch statistics at test time), log-variance heads,
``last_frame_skip`` as an option (skips from the previous frame instead of the last context frame; off = §4.1),
and its initialisation (``nn.blocks.dcgan_init_``: convolution and linear weights from N(0, 0.02), BatchNorm scales
from N(1, 0.02); PyTorch's defaults made the decoder's last layer ~7x larger and, measured on this CPU, let the KL
grow ~25x within 600 steps: docs/RESULTS.md, "SVG's initialisation").

Beyond the paper, because its users asked: ``kl_warmup_steps`` raises beta linearly from 0 over that many
training steps (0 = off = the paper), and ``trainer.accumulate_batches`` gives the code release's default batch of
100 (edenton/svg; the paper gives no batch size) where it does not fit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from vidpred.models.base import LossOutput, ModelConfig, ModelSpec, Predictor, Tensor
from vidpred.nn.blocks import FrameDecoder, FrameEncoder, dcgan_init_
from vidpred.nn.distributions import DiagonalGaussian
from vidpred.nn.recurrent import LSTMStack


@dataclass
class SVGConfig(ModelConfig):
    name: str = "svg"
    prior: Literal["learned", "fixed", "none"] = "learned"  # SVG-LP, SVG-FP, the deterministic baseline
    encoder: Literal["dcgan", "vgg"] = "dcgan"  # frame encoder / decoder (§4.1)
    width: int = 64  # the encoder's first-stage channels, doubling per stage (64: the paper's architectures)
    g_dim: int = 128  # |h| = |g| (§4.1)
    z_dim: int = 10  # |z|: 10 SM-MNIST, 32 KTH, 64 BAIR (§4.1)
    rnn_size: int = 256  # cells per LSTM layer (§4.1)
    predictor_layers: int = 2  # LSTM_theta (§4.1)
    posterior_layers: int = 1  # LSTM_phi (§4.1)
    prior_layers: int = 1  # LSTM_psi (§4.1)
    beta: float = 1e-4  # KL weight (§4.1: 1e-4 SM-MNIST and BAIR, 1e-6 KTH)
    kl_warmup_steps: int = 0  # beyond the paper: beta rises linearly from 0 over these training batches; 0: off
    last_frame_skip: bool = False  # skips from the previous frame, not the last context frame (release option)
    num_context: int = 5
    num_predicted: int = 10

    def validate(self) -> None:
        super().validate()
        if self.image_size != 64:
            raise ValueError(f"SVG's frame encoders take 64x64 frames (§4.1); image_size is {self.image_size}")
        if self.num_context < 1:
            raise ValueError("SVG needs at least one context frame")
        if min(self.width, self.g_dim, self.z_dim, self.rnn_size, self.predictor_layers, self.posterior_layers,
               self.prior_layers) < 1 or self.beta < 0 or self.kl_warmup_steps < 0:
            raise ValueError("SVG's sizes must be positive and beta and kl_warmup_steps non-negative")


class SVG(Predictor):
    min_context = 1

    def __init__(self, config: SVGConfig):
        super().__init__(config)
        c, g, z = config.channels, config.g_dim, config.z_dim
        self.encoder = FrameEncoder(c, g, config.encoder, config.width)
        self.decoder = FrameDecoder(c, g, config.encoder, config.width)
        latent = z if config.prior != "none" else 0
        self.frame_predictor = LSTMStack(g + latent, g, config.rnn_size, config.predictor_layers)
        if config.prior != "none":
            self.posterior = LSTMStack(g, z, config.rnn_size, config.posterior_layers, gaussian=True)
        if config.prior == "learned":
            self.learned_prior = LSTMStack(g, z, config.rnn_size, config.prior_layers, gaussian=True)
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))  # drives the KL warm-up
        dcgan_init_(self)  # the code release's initialisation of all five networks (edenton/svg, utils.py)

    @property
    def stochastic(self) -> bool:
        return self.config.prior != "none"

    def _encode(self, video: Tensor) -> tuple[Tensor, list[Tensor]]:
        """video (B, T, C, H, W) -> h (B, T, g) and the skips, each (B, T, ...)."""
        b, t = video.shape[:2]
        h, skips = self.encoder(video.flatten(0, 1))
        return h.view(b, t, -1), [s.view(b, t, *s.shape[1:]) for s in skips]

    def _skip_frame(self, t: int, num_context: int) -> int:
        """The frame whose encoder features the decoder gets when predicting frame ``t`` (0-based)."""
        return t - 1 if self.config.last_frame_skip or t < num_context else num_context - 1

    def _prior(self, h_previous: Tensor, state):
        """p(z_t) and the prior's new state: the learned prior's step on h_{t-1} (SVG-LP), or N(0, I) (SVG-FP)."""
        if self.config.prior == "learned":
            return self.learned_prior.step(h_previous, state)
        zeros = h_previous.new_zeros(h_previous.shape[0], self.config.z_dim)
        return DiagonalGaussian(zeros, zeros), state

    def kl_weight(self) -> float | Tensor:
        """beta, scaled by the warm-up while it lasts (then a tensor on the model's device: reading the step count
        on the host would make every training step wait for the device)."""
        warmup = self.config.kl_warmup_steps
        return self.config.beta * (self.train_steps / warmup).clamp(max=1.0) if warmup else self.config.beta

    def loss(self, batch: Tensor) -> LossOutput:
        cfg = self.config
        self.check_context(batch[:, :cfg.num_context])
        b, t = batch.shape[:2]
        h, skips = self._encode(batch)  # every frame at once: the inputs are the true frames (teacher forcing)
        predictor_state = posterior_state = prior_state = None
        outputs, kl = [], []
        for step in range(1, t):
            inputs = h[:, step - 1]
            if self.stochastic:
                q, posterior_state = self.posterior.step(h[:, step], posterior_state)
                p, prior_state = self._prior(inputs, prior_state)
                kl.append(q.float().kl(p.float()))  # (B,), summed over z's dimensions; in float32, as the loss
                inputs = torch.cat([inputs, q.rsample()], dim=1)
            g, predictor_state = self.frame_predictor.step(inputs, predictor_state)
            outputs.append(g)
        frames = [self._skip_frame(step, cfg.num_context) for step in range(1, t)]
        decoded = self.decoder(torch.stack(outputs, 1).flatten(0, 1), [s[:, frames].flatten(0, 1) for s in skips])
        predicted = decoded.float().view(b, t - 1, *batch.shape[2:])  # the loss in float32 under bf16 autocast
        # per step the mean over pixels and batch, summed over steps (Appendix A; the release's MSELoss per step)
        mse = (predicted - batch[:, 1:]).pow(2).mean(dim=(0, 2, 3, 4)).sum()
        parts, total = {"mse": mse.detach()}, mse
        if self.stochastic:
            kld = torch.stack(kl, 1).sum(1).mean()
            total = total + self.kl_weight() * kld
            parts["kl"] = kld.detach()
        if self.training:
            self.train_steps += 1
        return LossOutput(total, parts)

    def _predict(self, context: Tensor, horizon: int, num_samples: int, generator, temperature: float) -> Tensor:
        if not self.stochastic:  # one prediction serves every sample
            return self._generate(context, horizon, None).unsqueeze(1).expand(-1, num_samples, -1, -1, -1, -1)
        b = context.shape[0]
        video = self._generate(context.repeat_interleave(num_samples, dim=0), horizon, generator)
        return video.view(b, num_samples, *video.shape[1:])

    def _generate(self, context: Tensor, horizon: int, generator) -> Tensor:
        """context (B, k, C, H, W) -> the next ``horizon`` frames (B, horizon, C, H, W), one draw per row."""
        k = context.shape[1]
        h_context, skips_context = self._encode(context)
        predictor_state = posterior_state = prior_state = None
        h_previous, skips_previous = h_context[:, 0], [s[:, 0] for s in skips_context]
        outputs = []
        for step in range(1, k + horizon):
            inputs = h_previous
            if step < k:  # the context: advance every network on the true frames
                if self.stochastic:
                    q, posterior_state = self.posterior.step(h_context[:, step], posterior_state)
                    _, prior_state = self._prior(inputs, prior_state)
                    inputs = torch.cat([inputs, q.rsample(generator)], dim=1)
                _, predictor_state = self.frame_predictor.step(inputs, predictor_state)
                h_previous, skips_previous = h_context[:, step], [s[:, step] for s in skips_context]
                continue
            if self.stochastic:
                p, prior_state = self._prior(inputs, prior_state)
                inputs = torch.cat([inputs, p.rsample(generator)], dim=1)
            g, predictor_state = self.frame_predictor.step(inputs, predictor_state)
            skip_from = self._skip_frame(step, k)
            skips = skips_previous if skip_from == step - 1 else [s[:, skip_from] for s in skips_context]
            frame = self.decoder(g, skips)
            outputs.append(frame)
            h_previous, skips_previous = self.encoder(frame)  # the generated frame is the next input
        return torch.stack(outputs, dim=1)

    @torch.no_grad()
    def prior_std(self, video: Tensor) -> Tensor:
        """The learned prior's mean standard deviation over z's dimensions at each step, fed the true frames:
        sigma_psi(x_{1:t-1}) for t = 2..T, shape (B, T - 1) (the paper's Figure 6)."""
        if self.config.prior != "learned":
            raise ValueError(f"this SVG model has a {self.config.prior} prior; only SVG-LP learns one")
        h, _ = self._encode(video)
        state, stds = None, []
        for step in range(1, video.shape[1]):
            p, state = self.learned_prior.step(h[:, step - 1], state)
            stds.append(p.std.mean(dim=1))
        return torch.stack(stds, dim=1)


SPEC = ModelSpec("svg", SVGConfig, SVG,
                "SVG (Denton & Fergus 2018): LSTM frame predictor with per-step latents; learned prior "
                "(SVG-LP), fixed prior (SVG-FP) or none (the deterministic baseline)")
