"""The Video VQ-VAE's configs (Walker et al. 2021): the whole pipeline's (``VideoVQConfig``, composed of its
parts' configs) and its two priors'; the tokenizer's own is in ``tokenizer.py``. A module of their own so that
``priors.py`` and ``predictor.py`` both read them without importing each other."""
from __future__ import annotations

from dataclasses import dataclass, field

from vidpred.models.tokenizer import TokenizedConfig
from vidpred.models.video_vqvae.tokenizer import VideoVQVAEConfig


@dataclass
class TopPriorConfig:
    hidden: int = 512  # Table 4
    layers: int = 40  # Table 4
    kernel: int = 3  # Table 4 "conv filter size"; also the time extent of the (y,t) and (x,t) convolutions
    attention_every: int = 5  # §3.2: 40 layers -> Table 4's 8 attention layers
    heads: int = 8  # Table 4
    dropout: float = 0.5  # Table 4
    embed: int = 64  # embedding width of the context codes in the conditioning stack
    cond_reduced: int = 256  # Table 5: "downsampled back down to 32x32x256"
    cond_hidden: int = 512  # Table 5
    cond_residual: int = 128  # Table 5
    cond_blocks: int = 4  # Table 5


@dataclass
class BottomPriorConfig:
    hidden: int = 512  # Table 4
    layers: int = 20  # Table 4
    kernel: int = 5  # Table 4
    attention_every: int = 5  # 20 layers -> Table 4's 4 attention layers
    heads: int = 8  # Table 4
    dropout: float = 0.0  # Table 4
    past_window: int = 4  # Table 6 (n-4 .. n-1); §3.2 says 2
    embed: int = 64
    cond_hidden: int = 1024  # Table 6
    cond_residual: int = 256  # not given; a quarter of the hidden units
    cond_blocks: int = 20  # Table 6


@dataclass
class VideoVQConfig(TokenizedConfig):
    """The whole Video VQ-VAE pipeline, composed of its parts' configs."""
    name: str = "video_vqvae"
    context_frames: int = 4  # §3.2: condition on 4 frames, predict 12
    tokenizer: VideoVQVAEConfig = field(default_factory=VideoVQVAEConfig)
    top_prior: TopPriorConfig = field(default_factory=TopPriorConfig)
    bottom_prior: BottomPriorConfig = field(default_factory=BottomPriorConfig)

    def validate(self) -> None:
        frames = self.tokenizer.num_frames
        if self.context_frames % 4 or not 0 < self.context_frames < frames:
            raise ValueError(f"context_frames ({self.context_frames}) must be a positive multiple of 4 (the top "
                             f"latent's time stride) below the tokenizer's num_frames ({frames})")

    @property
    def context_steps(self) -> tuple[int, int]:
        """Top and bottom time steps of the context."""
        return self.context_frames // 4, self.context_frames // 2
