"""The Video VQ-VAE's priors (Walker et al. 2021 §3.2, Appendix Tables 4-6): the networks and their sampling of
codes. ``predictor.py`` puts them together with the tokenizer; ``training/stages.py`` trains them.

Latents of a clip of T frames: top (T/4, H/8, W/8), bottom (T/2, H/4, W/4) (``models/video_vqvae.py``). The
first ``context_frames`` frames are the context; at Table 4's Kinetics size (16 frames, 4 of context) the top
prior generates 3 of the 4 top steps ("input size 32x32x3") and the bottom prior 6 of the 8 bottom slices.

**Context codes.** The context frames are encoded by the frozen VQ-VAE *on their own* (Table 5: "the
conditioning frames 256x256x4x3 are compressed using our VQ-VAE into a 32x32 and 64x64x2 space"), because at
prediction time no later frame exists. The sequences the priors model are therefore the context's own codes
followed by the whole clip's codes from the first generated step on (``training/codes.py`` stores both).

**No blind spot.** Both priors use ``nn/pixelcnn.py``'s gated PixelCNN, whose stacks see every earlier position
within reach (a past stack over earlier steps, a vertical stack over the rows above at full width); the literal
(t, k, 1) / (t, 1, k) kernels of §3.2 leave blind spots (see that module).

**Top prior** (Table 4, first column; ``TopPrior``): the 3D gated PixelCNN of ``nn/pixelcnn.py`` over the
generated top steps, conditioned by Table 5's stack: the context's top codes (upsampled, nearest neighbour, to
the bottom grid) and bottom codes, embedded and concatenated, are brought down to the top grid by one
convolution (kernel (context bottom steps, 4, 4), stride (1, 2, 2): it also folds the context's time steps
together), tiled over the generated steps, convolved to ``cond_hidden`` channels (3x3x3) and passed through
``cond_blocks`` residual blocks (hidden 512, residual 128 at Table 5's size).

**Bottom prior** (Table 4, second column; ``BottomPrior``): a 2D gated PixelCNN that generates one bottom slice
n at a time, conditioned by Table 6's 3D stack: (a) the whole top latent (``top window`` = all T/4 top steps,
i.e. Table 6's 32x32x4) is upsampled to the bottom grid by transposed convolutions (4,3,3)/(2,1,1) and
(3,4,4)/(1,2,2) and a (3,3,3) convolution, and slice n is taken; (b) the ``past_window`` bottom slices
n-w .. n-1 (Table 6 gives w = 4, §3.2 says 2; we default to Table 6's 4, configurable; slices before the clip
are a learned "before the clip" code) go through 4 convolutions (4,3,3) with stride (2,1,1) -- which fold the
window's time steps to one; once a single step is left the remaining layers use (1,3,3) -- (c) both are
concatenated and passed through a 2D residual conditioning stack as in VQ-VAE-2 (Table 6: 1024 hidden, 20
blocks; its residual width is not given, we use a quarter of the hidden units as VQ-VAE's blocks do).

Both priors embed codes with their own embeddings (the paper does not say whether the codebook vectors are
reused), train by teacher forcing with cross-entropy, and report negative log-likelihood in nats per code.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidpred.models.tokenizer import CodePrior
from vidpred.models.video_vqvae.config import VideoVQConfig
from vidpred.nn.blocks import ResidualStack3d
from vidpred.nn.pixelcnn import GatedPixelCNN


class TopConditioning(nn.Module):
    """Table 5: context codes -> conditioning (B, cond_hidden, generated steps, h, w)."""

    def __init__(self, cfg: VideoVQConfig):
        super().__init__()
        p, (_, bottom_steps) = cfg.top_prior, cfg.context_steps
        self.generated = cfg.tokenizer.top_shape[0] - cfg.context_steps[0]
        self.embed_top = nn.Embedding(cfg.tokenizer.num_codes, p.embed)
        self.embed_bottom = nn.Embedding(cfg.tokenizer.num_codes, p.embed)
        self.down = nn.Conv3d(2 * p.embed, p.cond_reduced, (bottom_steps, 4, 4), stride=(1, 2, 2), padding=(0, 1, 1))
        self.up = nn.Conv3d(p.cond_reduced, p.cond_hidden, 3, padding=1)
        self.blocks = ResidualStack3d(p.cond_hidden, p.cond_residual, p.cond_blocks)

    def forward(self, top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
        bottom = self.embed_bottom(bottom).permute(0, 4, 1, 2, 3)  # (B, E, tb, H, W)
        top = F.interpolate(self.embed_top(top).permute(0, 4, 1, 2, 3), size=bottom.shape[2:], mode="nearest")
        x = self.down(torch.cat([top, bottom], dim=1))  # (B, reduced, 1, h, w)
        return self.blocks(self.up(x.expand(-1, -1, self.generated, -1, -1)))


class TopPrior(CodePrior):
    """The spatiotemporal PixelCNN over the generated top steps (Table 4, first column)."""

    def __init__(self, cfg: VideoVQConfig):
        super().__init__()
        p = cfg.top_prior
        steps, h, w = cfg.tokenizer.top_shape
        self.context_steps = cfg.context_steps
        self.cond = TopConditioning(cfg)
        self.pixelcnn = GatedPixelCNN(
            num_codes=cfg.tokenizer.num_codes, grid=(steps - cfg.context_steps[0], h, w), hidden=p.hidden,
            layers=p.layers,
            kernel=p.kernel, time_kernel=p.kernel, attention_every=p.attention_every, heads=p.heads,
            dropout=p.dropout, cond_channels=p.cond_hidden)

    def split(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A batch of code sequences -> (context top, context bottom, top steps to generate)."""
        ct, cb = self.context_steps
        return batch["top"][:, :ct], batch["bottom"][:, :cb], batch["top"][:, ct:]

    def logits(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        context_top, context_bottom, target = self.split(batch)
        return self.pixelcnn(target, self.cond(context_top, context_bottom)), target

    @torch.no_grad()
    def sample(self, context_top, context_bottom, generator=None, temperature=1.0, cached=True) -> torch.Tensor:
        cond = self.cond(context_top, context_bottom)
        return self.pixelcnn.sample(context_top.shape[0], cond, generator, temperature, cached)


class BottomConditioning(nn.Module):
    """Table 6: (whole top latent, bottom slices so far) -> conditioning of bottom slice n (B', C, 1, H, W)."""

    def __init__(self, cfg: VideoVQConfig):
        super().__init__()
        p = cfg.bottom_prior
        c = p.cond_hidden
        self.num_codes, self.window = cfg.tokenizer.num_codes, p.past_window
        self.embed_top = nn.Embedding(cfg.tokenizer.num_codes, p.embed)
        self.embed_past = nn.Embedding(cfg.tokenizer.num_codes + 1, p.embed)  # the last code: "before the clip"
        self.top_up = nn.Sequential(
            nn.ConvTranspose3d(p.embed, c, (4, 3, 3), stride=(2, 1, 1), padding=(1, 1, 1)), nn.ReLU(),
            nn.ConvTranspose3d(c, c, (3, 4, 4), stride=(1, 2, 2), padding=(1, 1, 1)), nn.ReLU(),
            nn.Conv3d(c, c, 3, padding=1))
        past, steps = [], self.window
        for i in range(4):  # Table 6: 4 convolutions (4,3,3), stride (2,1,1), until one time step is left
            kt = 4 if steps > 1 else 1
            past += [nn.Conv3d(p.embed if i == 0 else c, c, (kt, 3, 3), stride=(2 if steps > 1 else 1, 1, 1),
                               padding=(1 if steps > 1 else 0, 1, 1)), nn.ReLU()]
            steps = steps // 2 if steps > 1 else 1
        if steps != 1:
            raise ValueError(f"past_window {self.window} is not folded to one step by 4 stride-2 convolutions")
        self.past = nn.Sequential(*past)
        self.merge = nn.Conv2d(2 * c, c, 3, padding=1)
        self.blocks = ResidualStack3d(c, p.cond_residual, p.cond_blocks, dims=2)

    def upsample_top(self, top: torch.Tensor) -> torch.Tensor:
        """(B, T/4, h, w) top codes -> (B, C, T/2, H, W) features on the bottom grid."""
        return self.top_up(self.embed_top(top).permute(0, 4, 1, 2, 3))

    def forward(self, top_features: torch.Tensor, bottom: torch.Tensor, slices: list[int]) -> torch.Tensor:
        """top_features from ``upsample_top``; bottom (B, >= max(slices), H, W) codes; -> (B * len(slices), C, 1,
        H, W), slice-major within each clip."""
        b, _, h, w = bottom.shape
        before = bottom.new_full((b, self.window, h, w), self.num_codes)
        padded = torch.cat([before, bottom], dim=1)  # slice n's window is padded[:, n : n + window]
        past = torch.stack([padded[:, n:n + self.window] for n in slices], dim=1).flatten(0, 1)  # (B*S, w, H, W)
        past = self.past(self.embed_past(past).permute(0, 4, 1, 2, 3))[:, :, 0]  # (B*S, C, H, W)
        top = top_features[:, :, slices].transpose(1, 2).flatten(0, 1)  # (B*S, C, H, W)
        return self.blocks(self.merge(torch.cat([top, past], dim=1))).unsqueeze(2)


class BottomPrior(CodePrior):
    """The 2D PixelCNN over one bottom slice at a time (Table 4, second column)."""

    def __init__(self, cfg: VideoVQConfig):
        super().__init__()
        p = cfg.bottom_prior
        steps, h, w = cfg.tokenizer.bottom_shape
        self.first, self.steps = cfg.context_steps[1], steps
        self.cond = BottomConditioning(cfg)
        self.pixelcnn = GatedPixelCNN(
            num_codes=cfg.tokenizer.num_codes, grid=(1, h, w), hidden=p.hidden, layers=p.layers, kernel=p.kernel,
            time_kernel=1, attention_every=p.attention_every, heads=p.heads, dropout=p.dropout,
            cond_channels=p.cond_hidden)

    def logits(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits of every generated slice: (B * slices, K, 1, H, W) and their targets."""
        top, bottom = batch["top"], batch["bottom"]
        slices = list(range(self.first, self.steps))
        cond = self.cond(self.cond.upsample_top(top), bottom, slices)
        target = bottom[:, slices].flatten(0, 1).unsqueeze(1)  # (B*S, 1, H, W)
        return self.pixelcnn(target, cond), target

    @torch.no_grad()
    def sample(self, top: torch.Tensor, context_bottom: torch.Tensor, generator=None, temperature=1.0,
               cached=True) -> torch.Tensor:
        """Whole top latent (B, T/4, h, w) and the context's bottom slices -> all bottom slices (B, T/2, H, W)."""
        features = self.cond.upsample_top(top)
        b, _, h, w = context_bottom.shape
        bottom = torch.cat([context_bottom, context_bottom.new_zeros(b, self.steps - self.first, h, w)], dim=1)
        for n in range(self.first, self.steps):
            cond = self.cond(features, bottom[:, :n], [n])
            bottom[:, n] = self.pixelcnn.sample(b, cond, generator, temperature, cached)[:, 0]
        return bottom
