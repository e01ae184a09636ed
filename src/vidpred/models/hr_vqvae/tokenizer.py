"""HR-VQVAE (Adiban et al. 2023 §4.1; BMVC 2022): a per-frame 2D VQ-VAE whose quantiser is a strict tree of
residual codebooks (``nn/quantize.py`` ``ResidualTreeQuantizer``), the tokenizer of S-HR-VQVAE.

Each frame is encoded on its own to z (H/4 x W/4 x D), quantised by n layers (layer i: M^(i-1) codebooks of M
codewords, chosen by the codeword above), and decoded from e_C = sum_i e^i. Table 1: Moving MNIST 64x64x1 ->
16x16x4 with (n, M) = (1, 64), (3, 4), (6, 2); KTH 128x128x3 -> 32x32x8 with (1, 512), (3, 8), (9, 2). Every
configuration spends log2(M^n) bits per position: 6 bits on Moving MNIST, 9 on KTH.

The paper gives no encoder/decoder widths; we take VQ-VAE's (van den Oord et al. 2017), the cited source: two
4x4 stride-2 convolutions (the /4 of Table 1), a 3x3 convolution, a stack of residual blocks (ReLU, 3x3, ReLU,
1x1), a 1x1 convolution to D; the decoder mirrors it with transposed convolutions. At ``hidden`` 64 / ``residual``
32 / 2 blocks the tokenizer has ~150k parameters, which with the ST-PixelCNN fits Table 2's 1.14M in all.

Loss, Eq. 4: |x - D(e_C)|^2 + the commitments of the tree (Eq. 5); the codebooks learn by EMA, initialised from
the first batch, with dead codewords restarted. Frames enter as (B, T, C, H, W) in [0, 1] and are shifted to
[-0.5, 0.5] inside; decoded frames are clamped to [0, 1], so a background the decoder puts below 0 is exactly
black (on Moving MNIST a background of 1/255 already costs SSIM, ../FACTS).
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
from vidpred.nn.quantize import ResidualTreeQuantizer

DOWNSAMPLE = 4  # Table 1: 64 -> 16, 128 -> 32


@dataclass
class HRVQVAEConfig:
    channels: Literal[1, 3] = 1
    image_size: int = 64
    num_frames: int = 20  # frames of the clips whose codes the priors model (10 context + 10 predicted)
    hidden: int = 64
    residual: int = 32
    res_layers: int = 2
    latent_dim: int = 4  # Table 1: D = 4 (Moving MNIST), 8 (KTH)
    num_layers: int = 3  # n
    codebook_size: int = 4  # M
    betas: list[float] = field(default_factory=list)  # (beta_0, beta_1..n); empty: 0.25 each (VQ-VAE's)
    decay: float = 0.99
    restart_after: int = 100

    def validate(self) -> None:
        if self.image_size % DOWNSAMPLE:
            raise ValueError(f"image_size ({self.image_size}) must be a multiple of {DOWNSAMPLE}")
        if self.num_layers < 1 or self.codebook_size < 2:
            raise ValueError("num_layers must be at least 1 and codebook_size at least 2")
        if self.betas and len(self.betas) != self.num_layers + 1:
            raise ValueError(f"betas needs {self.num_layers + 1} values (beta_0, then one per layer)")

    @property
    def latent_size(self) -> int:
        return self.image_size // DOWNSAMPLE


class HRVQVAE(Tokenizer):
    """The tokenizer protocol (``models/tokenizer.py``) over levels "layer1" .. "layerN", one code per frame and
    position, each an index in [0, M) within the codebook the layers above select."""

    def __init__(self, config: HRVQVAEConfig):
        super().__init__()
        self.config = c = config
        self.levels = tuple(f"layer{i + 1}" for i in range(c.num_layers))
        half = max(c.hidden // 2, 1)
        self.encoder = nn.Sequential(
            nn.Conv2d(c.channels, half, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(half, c.hidden, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c.hidden, c.hidden, 3, padding=1), ResidualStack3d(c.hidden, c.residual, c.res_layers, dims=2),
            nn.Conv2d(c.hidden, c.latent_dim, 1))
        self.quantizer = ResidualTreeQuantizer(c.num_layers, c.codebook_size, c.latent_dim, c.betas or None,
                                               c.decay, c.restart_after, init="first_batch")
        self.decoder = nn.Sequential(
            nn.Conv2d(c.latent_dim, c.hidden, 3, padding=1),
            ResidualStack3d(c.hidden, c.residual, c.res_layers, dims=2),
            nn.ConvTranspose2d(c.hidden, half, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(half, c.channels, 4, stride=2, padding=1))

    # the tokenizer protocol

    @property
    def time_strides(self) -> dict[str, int]:
        return {level: 1 for level in self.levels}

    @property
    def codebook_sizes(self) -> dict[str, int]:
        return {level: self.config.codebook_size for level in self.levels}

    @property
    def num_frames(self) -> int:
        return self.config.num_frames

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return self.config.channels, self.config.image_size, self.config.image_size

    def latent_shape(self, level: str, num_frames: int) -> tuple[int, int, int]:
        return num_frames, self.config.latent_size, self.config.latent_size

    def _frames(self, video: torch.Tensor) -> torch.Tensor:
        expected = self.frame_shape
        if video.dim() != 5 or tuple(video.shape[2:]) != expected:
            raise ValueError(f"video has shape {tuple(video.shape)}; the tokenizer takes (B, T, "
                             f"{', '.join(map(str, expected))})")
        return video.flatten(0, 1) - 0.5  # (B*T, C, H, W) in [-0.5, 0.5]

    def _latent(self, video: torch.Tensor):
        z = self.encoder(self._frames(video)).permute(0, 2, 3, 1)  # (B*T, h, w, D)
        return self.quantizer(z)

    def decode_latent(self, e: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """Latent (B*T, h, w, D) -> frames (B, T, C, H, W), unclamped."""
        out = self.decoder(e.permute(0, 3, 1, 2)) + 0.5
        return out.view(*shape, *out.shape[1:])

    def forward(self, video: torch.Tensor):
        """(recon (B, T, C, H, W) unclamped, tree output)."""
        tree = self._latent(video)
        return self.decode_latent(tree.quantized, video.shape[:2]), tree

    def loss(self, clips: torch.Tensor) -> LossOutput:
        """Eq. 4 on every frame of the clips (frames are independent here)."""
        recon, tree = self(clips)
        reconstruction = F.mse_loss(recon.float(), clips)  # fp32 under autocast
        parts = {"reconstruction": reconstruction.detach(), "commitment": tree.commitment.detach()}
        for level, usage, perplexity in zip(self.levels, tree.usage, tree.perplexity):
            parts[f"usage_{level}"], parts[f"perplexity_{level}"] = usage, perplexity
        return LossOutput(reconstruction + tree.commitment, parts)

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T, C, H, W) -> {"layer1": (B, T, h, w), ...} codes in [0, M)."""
        codes = self._latent(video).codes
        return {level: c.view(*video.shape[:2], *c.shape[1:]) for level, c in zip(self.levels, codes)}

    @torch.no_grad()
    def decode(self, codes: dict[str, torch.Tensor]) -> torch.Tensor:
        """Codes of the first k layers (a prefix of the tree: "reconstruction after k layers", Fig. 5) -> frames
        (B, T, C, H, W) in [0, 1]."""
        used = [codes[level] for level in self.levels if level in codes]
        if len(used) == 0 or any(level not in codes for level in self.levels[:len(used)]):
            raise ValueError(f"decode takes the codes of a prefix of the layers {self.levels}, got {sorted(codes)}")
        b, t = used[0].shape[:2]
        e = self.quantizer.lookup([c.flatten(0, 1) for c in used])  # (B*T, h, w, D)
        return self.decode_latent(e, (b, t)).clamp(0, 1)
