"""Improved conditional VRNN (Castrejon, Ballas & Courville, ICCV 2019; the talk slides, ../shared/papers/002).

Context frames c (``num_context``), a latent z_t per future step, future frames x_t. The model factorises (slides,
"VRNNs")

    p(x, z | c) = prod_t p(x_t | z_<=t, x_<t, c) p(z_t | z_<t, x_<t, c)

and trains on the ELBO

    log p(x | c) >= sum_t E_q[log p(x_t | z_<=t, x_<t, c)] - KL(q(z_t | z_<t, x_<=t, c) || p(z_t | z_<t, x_<t, c)),

whose negative, in nats per video, is what the slides' tables report: loss part ``elbo`` = ``nll`` + ``kl``.

Networks (the slides' "Model" figure; sizes from the code release, facebookresearch/improved_vrnn, where the slides
show none):

- Frame encoder: a stage at every resolution of the frame (64, 32, 16, 8, 4, then 1 for 64x64 frames; 128 first for
  128x128), each of GroupNorm residual blocks after a max-pool, ``width`` x (1, 2, 4, 8, 8, 8) channels. Its
  features at each resolution feed the latent networks and the initial states.
- Likelihood, the "higher capacity" decoder: from 1x1 up to the frame, a block per resolution -- a ConvLSTM at
  the ``convlstm_layers`` coarsest resolutions (the slides' 1 / 3 / 6-ConvLSTM ablation), then a transposed
  convolution up. A block without a ConvLSTM is a convolution over its input and the last context frame's features
  at its resolution (SVG's skip connections, Denton & Fergus §4.1, in the spirit of the ablation's DCGAN decoder).
  Its input at step t is the 1x1 encoding of x_{t-1} and the latents, each level entering the block of its
  resolution. x_t ~ Bernoulli(sigmoid(logits)) for grey data (the release's ``bce`` on SM-MNIST) or
  Laplace(sigmoid(logits), 1) (its ``l1`` on colour data; the nats include the log 2 per value).
- Latents: ``levels`` resolutions, coarsest first (the slides' "1", "1-8", "1-8-32", "1-8-16-32"). z_t at a level of
  resolution r has ``z_dim`` channels at 1x1 and the encoder's channels at r elsewhere (release). Prior and
  posterior of each level are diagonal Gaussians from their own ConvLSTM over the encoder's features of x_{t-1}
  (prior) or x_t (posterior) at r and the level's z_{t-1} (the slides' z_<t; the release feeds its latent
  networks the frames only), conditioned on the levels above (their z, nearest-upsampled to r, concatenated
  before the output convolution). ``dense`` (dense connections, slides "Ablation: Hierarchy of Latents"): a level
  sees every level above it; off: only the one directly above. Training conditions prior and posterior on the
  posterior's draws of the levels above (the top-down pass of ladder VAEs, Sønderby et al. 2016); generation on
  the prior's. The release conditions only its posterior on the levels above; the slides say each latent is
  "conditioned on the previous latents in the hierarchy", which we read as both. ``prior_conditioning``: "talk"
  (the default) is this prior, p(z_t^l | z_<t^l, x_<t, z_t^<l); "release" is the code release's, p(z_t^l | x_<t)
  (``vrnn_hier.py``: each prior sees the frame features only), the posterior unchanged.
- Context: every ConvLSTM (decoder, priors, posteriors) starts from a state computed from the ``num_context`` context
  frames' features at its resolution (concatenated; 1x1 convolutions) -- how c conditions every factor; the
  recurrences then run over the future steps only (release).

Generation feeds each predicted frame back as the next step's x_{t-1}. The release feeds back the mean,
sigmoid(logits); ``feedback = "mode"`` (the default) feeds back the likelihood's mode instead: each pixel 1 where
its Bernoulli probability is above 1/2, else 0 (for the Laplace likelihood mode and mean coincide). The predicted
frames the model returns are the means either way. Why: teacher forcing trains the networks on true, near-binary
SM-MNIST frames, and a blurred mean is an input unlike any seen in training. Measured on our width-8 SM-MNIST
model (docs/RESULTS.md), smmnist-5-10 best of 20 on all 1,000 test sequences: SSIM 0.6725 -> 0.694 (blank 0.683),
MSE 175.3 -> 178.9 (blank 198.1). ``feedback = "mean"`` is the release's choice.

Training: teacher forcing (x_{t-1} is the true frame), one reparameterised draw per level and step, loss
``nll + beta * kl``. ``beta_warmup_clips`` raises beta linearly from 0 over that many training clips (beta warm-up,
"BW" in the slides, which use the latents only with it; 0 = off). The release warms up over 20 epochs of batches
(``main.py``: ``batches_per_epoch * 20 / world_size``), i.e. 20 passes over the training set however many
processes share it, so the count here is of clips, summed over processes: the default 1,200,000 is 20 SM-MNIST
epochs of 60,000 sequences (SVG's loader's length; the release's own SM-MNIST loader is not in it). Each level's KL is
a loss part (``kl_r1``, ``kl_r8``, ...): a level whose KL stays near zero carries no information (without warm-up and
dense connections "most of the latents are not used").

Normalisation as the release's (``layers.py``, ``models/vrnn_hier.py``): GroupNorm in 4 groups in the residual,
convolution and up-sampling blocks and 16 in the ConvLSTMs -- at our narrow CPU widths never fewer than 2 channels
per group, where 8- and 16-channel layers had been InstanceNorms -- the ConvLSTMs' input and hidden convolutions
normalised apart and their cell kept normalised, a layer norm closing each initial-state net, and a GroupNorm(1)
with zero-initialised scale after each latent head. ``legacy_norms`` builds the earlier layout (one GroupNorm over
a ConvLSTM's fused gate convolution, gcd(c, 16) groups, none of the three extra norms), which the CPU model in
``pretrained/smmnist_vrnn`` was trained with.

Choices where the release has no counterpart or we differ from it: 1x1 kernels on 1x1 maps (its 3x3 kernels there
see only zero padding, so the same function with fewer parameters: see ``models/presets.py`` for the counts); the
latent nets' input convolution is followed by GroupNorm and LeakyReLU (the release: GroupNorm(1), no activation);
log-variance = log softplus(raw), as the release; Adam at lr 1e-4 and batch 16 (the release's defaults) belong to
the experiment configs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vidpred.models.base import LossOutput, ModelConfig, ModelSpec, Predictor, Tensor
from vidpred.nn.blocks import GroupNormResBlock, group_norm
from vidpred.nn.distributions import DiagonalGaussian
from vidpred.nn.recurrent import ConvLSTMCell


@dataclass
class VRNNConfig(ModelConfig):
    name: str = "vrnn"
    width: int = 64  # the encoder's first-stage channels (release: n_hid = 64), doubling per stage up to 8x
    z_dim: int = 10  # channels of the 1x1 latent level (release: n_z = 10)
    levels: tuple[int, ...] = (1, 8, 32)  # latent resolutions, coarsest first: the slides' best, "1-8-32"
    convlstm_layers: int = 6  # ConvLSTMs in the likelihood, at its coarsest resolutions (slides: 1, 3 or 6)
    dense: bool = True  # each latent level sees every level above it (off: only its parent)
    beta: float = 1.0  # KL weight after warm-up (1: the ELBO)
    beta_warmup_clips: int = 1_200_000  # beta rises linearly from 0 over these training clips (release: 20 epochs)
    likelihood: Literal["bernoulli", "laplace"] = "bernoulli"
    feedback: Literal["mode", "mean"] = "mode"  # the generated frame fed back as x_{t-1}: see the module docstring
    legacy_norms: bool = False  # the normalisation before [fidelity 12] (module docstring), for models trained with it
    prior_conditioning: Literal["talk", "release"] = "talk"  # p(z_t | z_<t, x_<t, levels above) or p(z_t | x_<t)
    num_context: int = 5
    num_predicted: int = 10

    @property
    def resolutions(self) -> tuple[int, ...]:
        """The encoder's resolutions, finest first: the frame, halved down to 4x4, then 1x1."""
        sizes = [self.image_size]
        while sizes[-1] > 4:
            sizes.append(sizes[-1] // 2)
        return tuple(sizes) + (1,)

    def channels_at(self, size: int) -> int:
        """The encoder's channels at resolution ``size``: width x 1, 2, 4, 8, 8, ... from the finest."""
        return self.width * min(2 ** self.resolutions.index(size), 8)

    def latent_channels(self, size: int) -> int:
        return self.z_dim if size == 1 else self.channels_at(size)

    def validate(self) -> None:
        super().validate()
        size = self.image_size
        if size < 8 or size & (size - 1):
            raise ValueError(f"the VRNN halves frames down to 4x4; image_size must be a power of two >= 8, not {size}")
        if self.num_context < 1:
            raise ValueError("the VRNN needs at least one context frame")
        levels = tuple(self.levels)
        if not levels or any(r not in self.resolutions for r in levels) or list(levels) != sorted(set(levels)):
            raise ValueError(f"levels {levels} must be distinct resolutions of the encoder, coarsest first: "
                             f"some of {sorted(self.resolutions)}")
        if not 1 <= self.convlstm_layers <= len(self.resolutions):
            raise ValueError(f"convlstm_layers must be 1 to {len(self.resolutions)} (one per decoder resolution), "
                             f"not {self.convlstm_layers}")
        if min(self.width, self.z_dim) < 1 or self.beta < 0 or self.beta_warmup_clips < 0:
            raise ValueError("width and z_dim must be positive, beta and beta_warmup_clips non-negative")


def _kernel(size: int) -> int:
    return 1 if size == 1 else 3


def _groups(size: int) -> int:
    """GroupNorm groups of a ConvLSTM on a size x size map: up to 16 (release), one on a 1x1 map."""
    return 1 if size == 1 else 16


class FrameEncoder(nn.Module):
    """Frames (N, C, S, S) -> {resolution: features}, one stage per resolution of ``config.resolutions``."""

    def __init__(self, config: VRNNConfig):
        super().__init__()
        stages, cin, previous = [], config.channels, None
        for size in config.resolutions:
            c = config.channels_at(size)
            block = lambda a, b, size=size: GroupNormResBlock(a, b, size, legacy=config.legacy_norms)  # noqa: E731
            if previous is None:
                stages.append(nn.Sequential(nn.Conv2d(cin, c, 1), block(c, c)))
            else:
                stages.append(nn.Sequential(nn.MaxPool2d(previous // size), block(cin, c), block(c, c)))
            cin, previous = c, size
        self.stages = nn.ModuleList(stages)
        self.sizes = config.resolutions

    def forward(self, frames: Tensor) -> dict[int, Tensor]:
        features, x = {}, frames
        for size, stage in zip(self.sizes, self.stages):
            x = features[size] = stage(x)
        return features

    def encode_video(self, video: Tensor) -> dict[int, Tensor]:
        """video (B, T, C, H, W) -> {resolution: (B, T, c, r, r)}, every frame at once."""
        b, t = video.shape[:2]
        return {r: f.view(b, t, *f.shape[1:]) for r, f in self(video.flatten(0, 1)).items()}


class InitialState(nn.Module):
    """A ConvLSTM's initial (h, c) from the context frames' features at its resolution, concatenated over frames:
    as the release's init nets, a 1x1 convolution, GroupNorm (4 groups), LeakyReLU, a 1x1 convolution to (h, c)
    and a layer norm over them (GroupNorm(1); not in ``legacy`` models)."""

    def __init__(self, channels: int, frames: int, hidden: int, size: int, legacy: bool = False):
        super().__init__()
        n = channels * frames
        self.net = nn.Sequential(nn.Conv2d(n, n, 1), group_norm(n, size, 4, legacy), nn.LeakyReLU(0.2),
                                 nn.Conv2d(n, 2 * hidden, 1), *([] if legacy else [nn.GroupNorm(1, 2 * hidden)]))

    def forward(self, context_features: Tensor) -> tuple[Tensor, Tensor]:
        """(B, k, c, r, r) -> (h, c), each (B, hidden, r, r)."""
        h, c = self.net(context_features.flatten(1, 2)).chunk(2, dim=1)
        return h, c


class LatentNet(nn.Module):
    """One level's prior or posterior: [features at r, this level's previous z] -> 1x1 convolution -> ConvLSTM
    (from the context) -> concatenated with the levels above -> 1x1 convolution -> GroupNorm(1) -> (mean,
    log-variance) of a (z_channels, r, r) Gaussian. The head's GroupNorm starts with zero scale and shift drawn from
    N(0, 1e-3) (the release's ``vrnn_hier``), so every level starts as N(0, softplus(0)) and the head's scale is
    learnt. ``legacy``: no GroupNorm, the output convolution itself starting at zero."""

    def __init__(self, channels: int, z_channels: int, condition_channels: int, frames: int, size: int,
                 legacy: bool = False, sees_previous: bool = True):
        super().__init__()
        self.sees_previous = sees_previous  # False: the release's prior, which sees the frame features only
        previous_channels = z_channels if sees_previous else 0
        self.inp = nn.Sequential(nn.Conv2d(channels + previous_channels, channels, 1),
                                 group_norm(channels, size, 16, legacy),
                                 nn.LeakyReLU(0.2))
        self.cell = ConvLSTMCell(channels, channels, _kernel(size), norm_groups=_groups(size), legacy_norm=legacy)
        self.init = InitialState(channels, frames, channels, size, legacy)
        out = nn.Conv2d(channels + condition_channels, 2 * z_channels, 1)
        self.out = out if legacy else nn.Sequential(out, nn.GroupNorm(1, 2 * z_channels))
        last = out if legacy else self.out[1]
        nn.init.zeros_(last.weight)
        nn.init.normal_(last.bias, std=1e-3)

    def step(self, features: Tensor, previous: Tensor, condition: Tensor | None, state):
        """features (B, c, r, r) of the frame it sees, ``previous`` z of this level at the step before (B, zc, r, r),
        ``condition`` the levels above, upsampled (or None) -> (the Gaussian, the new state)."""
        inputs = torch.cat([features, previous.to(features.dtype)], dim=1) if self.sees_previous else features
        h, state = self.cell(self.inp(inputs), state)
        params = self.out(h if condition is None else torch.cat([h, condition.to(h.dtype)], dim=1))
        mean, raw = params.float().chunk(2, dim=1)  # the distribution in float32: the KL is part of the loss
        return DiagonalGaussian(mean, F.softplus(raw).clamp_min(1e-8).log(), event_dims=3), state


class Likelihood(nn.Module):
    """The decoder p(x_t | z_<=t, x_<t, c): a block per resolution from 1x1 up to the frame (module docstring).
    ``step`` takes the 1x1 encoding of x_{t-1}, the latents {resolution: z}, the blocks' states and the last
    context frame's features, and returns the logits of x_t and the new states."""

    def __init__(self, config: VRNNConfig):
        super().__init__()
        sizes = tuple(reversed(config.resolutions))  # 1, 4, 8, ..., the frame
        self.sizes = sizes
        self.recurrent = sizes[:config.convlstm_layers]
        self.latent_channels = {r: config.latent_channels(r) for r in config.levels}
        legacy = config.legacy_norms
        blocks, inits, ups = nn.ModuleList(), nn.ModuleDict(), nn.ModuleList()
        for j, size in enumerate(sizes):
            c = config.channels_at(size)
            cin = c + self.latent_channels.get(size, 0)
            if size in self.recurrent:
                blocks.append(ConvLSTMCell(cin, c, _kernel(size), norm_groups=_groups(size), legacy_norm=legacy))
                inits[str(size)] = InitialState(c, config.num_context, c, size, legacy)
            else:  # the release's DcConv and DcUpConv normalise in 4 groups
                k = _kernel(size)
                blocks.append(nn.Sequential(nn.Conv2d(cin + c, c, k, padding=k // 2), group_norm(c, size, 4, legacy),
                                            nn.LeakyReLU(0.2)))
            if j + 1 < len(sizes):
                nxt = sizes[j + 1]
                stride, padding = (1, 0) if size == 1 else (2, 1)  # 1x1 -> 4x4, then doubling
                ups.append(nn.Sequential(nn.ConvTranspose2d(c, config.channels_at(nxt), 4, stride, padding),
                                         group_norm(config.channels_at(nxt), nxt, 4, legacy), nn.LeakyReLU(0.2)))
            else:
                ups.append(nn.Sequential(nn.Conv2d(c, c, 3, padding=1), group_norm(c, size, 4, legacy),
                                         nn.LeakyReLU(0.2), nn.Conv2d(c, config.channels, 3, padding=1)))
        self.blocks, self.inits, self.ups = blocks, inits, ups

    def initial_states(self, context: dict[int, Tensor]) -> list:
        return [self.inits[str(r)](context[r]) if r in self.recurrent else None for r in self.sizes]

    def step(self, top: Tensor, latents: dict[int, Tensor], states: list, skips: dict[int, Tensor]):
        x, new_states = top, []
        for size, block, up, state in zip(self.sizes, self.blocks, self.ups, states):
            if size in latents:
                x = torch.cat([x, latents[size].to(x.dtype)], dim=1)
            if size in self.recurrent:
                x, state = block(x, state)
            else:
                x = block(torch.cat([x, skips[size]], dim=1))
            new_states.append(state)
            x = up(x)
        return x, new_states


class VRNN(Predictor):
    stochastic = True

    def __init__(self, config: VRNNConfig):
        super().__init__(config)
        # the initial states take exactly this many frames (the last ones)
        self.min_context = self.max_context = config.num_context
        self.levels = tuple(config.levels)
        k = config.num_context
        self.encoder = FrameEncoder(config)
        self.posterior = nn.ModuleList()
        self.prior = nn.ModuleList()
        talk = config.prior_conditioning == "talk"
        for level, size in enumerate(self.levels):
            cond = sum(config.latent_channels(self.levels[i]) for i in self.conditioning(level))
            z = config.latent_channels(size)
            self.posterior.append(LatentNet(config.channels_at(size), z, cond, k, size, config.legacy_norms))
            self.prior.append(LatentNet(config.channels_at(size), z, cond if talk else 0, k, size, config.legacy_norms,
                                        sees_previous=talk))
        self.likelihood = Likelihood(config)
        self.register_buffer("train_clips", torch.zeros((), dtype=torch.long))  # drives the beta warm-up

    def conditioning(self, level: int) -> tuple[int, ...]:
        """The levels (indices, coarsest first) that level ``level`` is conditioned on."""
        if level == 0:
            return ()
        return tuple(range(level)) if self.config.dense else (level - 1,)

    def _condition(self, level: int, latents: list[Tensor]) -> Tensor | None:
        size = self.levels[level]
        parts = [F.interpolate(latents[i], size=(size, size), mode="nearest") for i in self.conditioning(level)]
        return torch.cat(parts, dim=1) if parts else None

    def _prior_condition(self, condition: Tensor | None) -> Tensor | None:
        """What a prior is conditioned on of the levels above: all of it (the talk's), or nothing (the release's)."""
        return condition if self.config.prior_conditioning == "talk" else None

    def _no_latents(self, batch: int, like: Tensor) -> list[Tensor]:
        """Every level's z "before the first step": zeros."""
        return [like.new_zeros(batch, self.config.latent_channels(r), r, r) for r in self.levels]

    def beta_now(self) -> float | Tensor:
        """beta, scaled by the warm-up while it lasts (then a tensor on the model's device: reading the step count
        on the host would make every training step wait for the device)."""
        warmup = self.config.beta_warmup_clips
        return self.config.beta * (self.train_clips / warmup).clamp(max=1.0) if warmup else self.config.beta

    def _nll(self, logits: Tensor, target: Tensor) -> Tensor:
        """-log p(x_t | ...) per clip (B,), in nats, summed over the frame's values."""
        if self.config.likelihood == "bernoulli":
            values = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        else:
            values = (torch.sigmoid(logits) - target).abs() + math.log(2.0)
        return values.sum(dim=(1, 2, 3))

    def loss(self, batch: Tensor) -> LossOutput:
        nll, kl = self.elbo_terms(batch)
        nll_video = nll.sum(1).mean()
        kl_levels = kl.sum(2).mean(0)
        kl_video = kl_levels.sum()
        total = nll_video + self.beta_now() * kl_video
        parts = {"nll": nll_video.detach(), "kl": kl_video.detach(), "elbo": (nll_video + kl_video).detach(),
                 **{f"kl_r{r}": v.detach() for r, v in zip(self.levels, kl_levels)}}
        if self.training:  # every process counts the clips of all of them: the warm-up is in passes over the data
            distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
            processes = torch.distributed.get_world_size() if distributed else 1
            self.train_clips += batch.shape[0] * processes
        return LossOutput(total, parts)

    def elbo_terms(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """The ELBO's terms on clips ``batch`` (context, then the frames to predict), in nats, float32: -log p(x_t |
        z_<=t, x_<t, c) per clip and step (B, steps) and each level's KL(q || p) per clip, level and step (B, levels,
        steps), with one posterior draw per level and step."""
        k = self.config.num_context
        self.check_context(batch[:, :k])
        t = batch.shape[1]
        if t <= k:
            raise ValueError(f"a training clip needs more than the {k} context frames; it has {t}")
        features = self.encoder.encode_video(batch)  # the inputs are the true frames (teacher forcing)
        context = {r: f[:, :k] for r, f in features.items()}
        skips = {r: f[:, k - 1] for r, f in features.items()}
        posterior_states = [net.init(context[r]) for net, r in zip(self.posterior, self.levels)]
        prior_states = [net.init(context[r]) for net, r in zip(self.prior, self.levels)]
        states = self.likelihood.initial_states(context)
        nll: list[torch.Tensor] = []
        kl: list[list[torch.Tensor]] = [[] for _ in self.levels]
        latents = self._no_latents(batch.shape[0], batch)
        for step in range(k, t):
            previous, latents = latents, []
            for level, size in enumerate(self.levels):
                condition = self._condition(level, latents)
                q, posterior_states[level] = self.posterior[level].step(features[size][:, step], previous[level],
                                                                        condition, posterior_states[level])
                p, prior_states[level] = self.prior[level].step(features[size][:, step - 1], previous[level],
                                                                self._prior_condition(condition), prior_states[level])
                kl[level].append(q.kl(p))
                latents.append(q.rsample())
            logits, states = self.likelihood.step(features[1][:, step - 1], dict(zip(self.levels, latents)), states,
                                                  skips)
            nll.append(self._nll(logits.float(), batch[:, step]))
        return torch.stack(nll, 1), torch.stack([torch.stack(per_step, 1) for per_step in kl], 1)

    def _predict(self, context: Tensor, horizon: int, num_samples: int, generator, temperature: float) -> Tensor:
        k = self.config.num_context
        b = context.shape[0]
        # a Laplace's mode is its mean: only a Bernoulli likelihood's mode differs
        feeds_back_mode = self.config.feedback == "mode" and self.config.likelihood == "bernoulli"
        features = self.encoder.encode_video(context[:, -k:].repeat_interleave(num_samples, dim=0))
        prior_states = [net.init(features[r]) for net, r in zip(self.prior, self.levels)]
        states = self.likelihood.initial_states(features)
        skips = seen = {r: f[:, -1] for r, f in features.items()}
        frames, latents = [], self._no_latents(b * num_samples, context)
        for _ in range(horizon):
            previous, latents = latents, []
            for level, size in enumerate(self.levels):
                condition = self._prior_condition(self._condition(level, latents))
                p, prior_states[level] = self.prior[level].step(seen[size], previous[level], condition,
                                                                prior_states[level])
                latents.append(p.rsample(generator))
            logits, states = self.likelihood.step(seen[1], dict(zip(self.levels, latents)), states, skips)
            frame = torch.sigmoid(logits.float())
            frames.append(frame)
            if len(frames) < horizon:  # the generated frame is the next step's input
                fed_back = (frame > 0.5).to(frame.dtype) if feeds_back_mode else frame
                seen = self.encoder(fed_back)
        video = torch.stack(frames, dim=1)
        return video.view(b, num_samples, *video.shape[1:])


def _test_config() -> VRNNConfig:
    return VRNNConfig(name="vrnn", width=4, z_dim=2, levels=(1, 8), convlstm_layers=3, image_size=16,
                      num_context=2, num_predicted=3)


SPEC = ModelSpec("vrnn", VRNNConfig, VRNN,
                "Improved conditional VRNN (Castrejon et al. 2019): hierarchical latents and a ConvLSTM "
                "likelihood, trained on the ELBO", test_config=_test_config)
