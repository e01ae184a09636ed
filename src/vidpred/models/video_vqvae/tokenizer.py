"""Walker et al. 2021's hierarchical 3D Video VQ-VAE: the tokenizer of the Video VQ-VAE predictor.

Sizes are Appendix Table 3 (``presets.walker_kinetics_256``); shapes for a (T, H, W) video:

- encoder stage 1: Conv3d, filter (t, h, w) = (4, 8, 8), stride (2, 4, 4) -> residual stack (hidden 128,
  residual 32, 2 layers) -> 1x1x1 conv to the codebook dimension: **bottom** latent at (T/2, H/4, W/4);
- encoder stage 2: Conv3d (4, 4, 4), stride (2, 2, 2) on stage 1's features -> residual stack -> 1x1x1 conv:
  **top** latent at (T/4, H/8, W/8);
- the bottom sees the top (VQ-VAE-2, Razavi et al. 2019, §3.1 and its Fig. 2a, which §3.1 of Walker et al. follows):
  the quantised top latent is decoded to the bottom's grid (3x3x3 conv, residual stack, transposed Conv3d (4, 4, 4)
  stride 2) and concatenated with stage 1's features before the bottom's 1x1x1 conv, so the bottom codes carry
  the detail the top's do not. ``bottom_sees_top: false`` encodes the two levels independently, as vidpred did
  before [fidelity 6] (the shipped CPU model was trained so);
- two separate EMA codebooks of 512 codes x 64 dimensions (``nn/quantize.py``; beta = 0.25);
- decoder: the top quantised latent upsampled by a transposed Conv3d (4, 4, 4) stride 2 to the bottom's grid,
  concatenated with the bottom quantised latent, a 3x3x3 conv and a residual stack, then the transposed conv
  (4, 8, 8) stride (2, 4, 4) of Table 3 back to the video.

Training loss (Eq. 2): |D(e) - x|^2 + the two commitment terms (the codebooks learn by EMA, Eq. 3).
Bottom masking (§3.1): during training the bottom half of the decoder's input is zeroed per sample with
probability ``mask_bottom_prob`` so the decoder learns to use the top level. The paper gives no rate; we use
0.25: three updates in four train the full reconstruction the predictor decodes, one in four the top-only path.
Videos enter as (B, T, C, H, W) in [0, 1] and are shifted to [-0.5, 0.5] inside (VQ-VAE's convention).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vidpred.models.base import LossOutput
from vidpred.models.tokenizer import Tokenizer
from vidpred.nn.blocks import ResidualStack3d
from vidpred.nn.quantize import EMAVectorQuantizer


@dataclass
class VideoVQVAEConfig:
    channels: Literal[1, 3] = 1
    image_size: int = 64
    num_frames: int = 16
    hidden: int = 128
    residual: int = 32
    layers: int = 2
    num_codes: int = 512
    code_dim: int = 64
    beta: float = 0.25
    decay: float = 0.99
    restart_after: int = 100  # steps unused before a code is re-seeded; 0: off (the paper's behaviour)
    restart_from: Literal["any", "poorly_quantised"] = "any"  # which encoder outputs re-seed it (nn/quantize.py)
    mask_bottom_prob: float = 0.25
    bottom_sees_top: bool = True  # VQ-VAE-2: the bottom is quantised from stage 1's features and the decoded top

    def validate(self) -> None:
        if self.image_size % 8 or self.num_frames % 4:
            raise ValueError(f"image_size ({self.image_size}) must be a multiple of 8 and num_frames "
                             f"({self.num_frames}) of 4: the top latent is at (T/4, H/8, W/8)")
        if not 0.0 <= self.mask_bottom_prob <= 1.0:
            raise ValueError(f"mask_bottom_prob must be in [0, 1], got {self.mask_bottom_prob}")

    @property
    def top_shape(self) -> tuple[int, int, int]:
        return self.num_frames // 4, self.image_size // 8, self.image_size // 8

    @property
    def bottom_shape(self) -> tuple[int, int, int]:
        return self.num_frames // 2, self.image_size // 4, self.image_size // 4


@dataclass
class VQVAEOutput:
    recon: torch.Tensor  # (B, T, C, H, W) in [0, 1] (clamped)
    loss: torch.Tensor
    parts: dict = field(default_factory=dict)  # reconstruction, commitment per level, usage and perplexity
    top_codes: torch.Tensor | None = None
    bottom_codes: torch.Tensor | None = None


class VideoVQVAE(Tokenizer):
    """The two-level 3D tokenizer (``models/tokenizer.py`` protocol): levels "top" (T/4, H/8, W/8) and "bottom"
    (T/2, H/4, W/4)."""

    levels = ("top", "bottom")

    def __init__(self, config: VideoVQVAEConfig):
        super().__init__()
        self.config = c = config
        self.enc_bottom = nn.Sequential(
            nn.Conv3d(c.channels, c.hidden, (4, 8, 8), stride=(2, 4, 4), padding=(1, 2, 2)),
            ResidualStack3d(c.hidden, c.residual, c.layers))
        self.pre_bottom = nn.Conv3d(c.hidden + (c.code_dim if c.bottom_sees_top else 0), c.code_dim, 1)
        self.enc_top = nn.Sequential(
            nn.Conv3d(c.hidden, c.hidden, 4, stride=2, padding=1), ResidualStack3d(c.hidden, c.residual, c.layers))
        self.pre_top = nn.Conv3d(c.hidden, c.code_dim, 1)
        if c.bottom_sees_top:  # VQ-VAE-2's top decoder: the quantised top at the bottom's grid
            self.dec_top = nn.Sequential(
                nn.Conv3d(c.code_dim, c.hidden, 3, padding=1), ResidualStack3d(c.hidden, c.residual, c.layers),
                nn.ConvTranspose3d(c.hidden, c.code_dim, 4, stride=2, padding=1))
        self.vq_top, self.vq_bottom = (
            EMAVectorQuantizer(c.num_codes, c.code_dim, c.beta, c.decay, restart_after=c.restart_after,
                               restart_from=c.restart_from) for _ in range(2))
        self.upsample_top = nn.ConvTranspose3d(c.code_dim, c.code_dim, 4, stride=2, padding=1)
        self.decoder = nn.Sequential(
            nn.Conv3d(2 * c.code_dim, c.hidden, 3, padding=1), ResidualStack3d(c.hidden, c.residual, c.layers),
            nn.ConvTranspose3d(c.hidden, c.channels, (4, 8, 8), stride=(2, 4, 4), padding=(1, 2, 2)))

    def _check(self, video: torch.Tensor) -> torch.Tensor:
        # Fully convolutional: any multiple of 4 frames encodes (the priors' context frames are encoded alone).
        c = self.config
        expected = (c.channels, c.image_size, c.image_size)
        if video.dim() != 5 or tuple(video.shape[2:]) != expected or video.shape[1] % 4 or not video.shape[1]:
            raise ValueError(f"video has shape {tuple(video.shape)}; the tokenizer takes (B, T, "
                             f"{', '.join(map(str, expected))}) with T a multiple of 4 "
                             f"(training clips: {c.num_frames})")
        return video.transpose(1, 2) - 0.5  # (B, C, T, H, W) in [-0.5, 0.5]

    def _encode(self, video: torch.Tensor):
        x = self._check(video)
        h = self.enc_bottom(x)  # (B, hidden, T/2, H/4, W/4)
        z_top = self.pre_top(self.enc_top(h)).permute(0, 2, 3, 4, 1)  # (B, T/4, H/8, W/8, D)
        top = self.vq_top(z_top)
        if self.config.bottom_sees_top:  # the bottom quantises what the top leaves, given the decoded top
            h = torch.cat([h, self.dec_top(top.quantized.permute(0, 4, 1, 2, 3))], dim=1)
        z_bottom = self.pre_bottom(h).permute(0, 2, 3, 4, 1)  # (B, T/2, H/4, W/4, D)
        return top, self.vq_bottom(z_bottom)

    def _decode(self, q_top: torch.Tensor, q_bottom: torch.Tensor, keep_bottom: torch.Tensor | None = None):
        """Quantised latents (B, t, h, w, D) -> video (B, T, C, H, W), unclamped, in [-0.5, 0.5] units + 0.5."""
        top = self.upsample_top(q_top.permute(0, 4, 1, 2, 3))  # (B, D, T/2, H/4, W/4)
        bottom = q_bottom.permute(0, 4, 1, 2, 3)
        if keep_bottom is not None:
            bottom = bottom * keep_bottom.view(-1, 1, 1, 1, 1).to(bottom.dtype)
        out = self.decoder(torch.cat([top, bottom], dim=1))  # (B, C, T, H, W)
        return out.transpose(1, 2) + 0.5

    def forward(self, video: torch.Tensor) -> VQVAEOutput:
        top, bottom = self._encode(video)
        keep = None
        if self.training and self.config.mask_bottom_prob > 0:
            keep = torch.rand(video.shape[0], device=video.device) >= self.config.mask_bottom_prob
        recon = self._decode(top.quantized, bottom.quantized, keep)
        reconstruction = F.mse_loss(recon.float(), video)  # fp32 under autocast
        loss = reconstruction + top.commitment + bottom.commitment
        parts = {"reconstruction": reconstruction.detach(), "commitment_top": top.commitment.detach(),
                 "commitment_bottom": bottom.commitment.detach(), "usage_top": top.usage, "usage_bottom": bottom.usage,
                 "perplexity_top": top.perplexity, "perplexity_bottom": bottom.perplexity}
        return VQVAEOutput(recon.clamp(0, 1), loss, parts, top.codes, bottom.codes)

    def loss(self, batch: torch.Tensor) -> LossOutput:
        """The training interface of the engine (``training/module.py``): Eq. 2 and the logged parts."""
        out = self(batch)
        return LossOutput(out.loss, out.parts)

    # The tokenizer protocol (models/tokenizer.py)

    @property
    def time_strides(self) -> dict[str, int]:
        return {"top": 4, "bottom": 2}

    @property
    def codebook_sizes(self) -> dict[str, int]:
        return {"top": self.config.num_codes, "bottom": self.config.num_codes}

    @property
    def num_frames(self) -> int:
        return self.config.num_frames

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        c = self.config
        return c.channels, c.image_size, c.image_size

    def latent_shape(self, level: str, num_frames: int) -> tuple[int, int, int]:
        down = {"top": 8, "bottom": 4}[level]
        return num_frames // self.time_strides[level], self.config.image_size // down, self.config.image_size // down

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T, C, H, W) -> {"top": (B, T/4, H/8, W/8), "bottom": (B, T/2, H/4, W/4)} long codes."""
        top, bottom = self._encode(video)
        return {"top": top.codes, "bottom": bottom.codes}

    @torch.no_grad()
    def decode(self, codes: dict[str, torch.Tensor]) -> torch.Tensor:
        """Codes -> video (B, T, C, H, W) in [0, 1]. Without "bottom": the top level alone (the bottom masked, as
        in training)."""
        q_top = self.vq_top.lookup(codes["top"])
        if "bottom" in codes:
            q_bottom = self.vq_bottom.lookup(codes["bottom"])
        else:
            b, t, h, w = codes["top"].shape
            q_bottom = q_top.new_zeros(b, 2 * t, 2 * h, 2 * w, self.config.code_dim)
        return self._decode(q_top, q_bottom).clamp(0, 1)
