"""The tokenizer protocol shared by every VQ system, and the prior side of it.

A **tokenizer** turns frames into named levels of discrete codes and back:

- ``levels``: the level names, coarsest first (Video VQ-VAE: ``("top", "bottom")``; a residual tree: one per layer);
- ``encode(frames (B, T, C, H, W)) -> {level: codes (B, t, h, w) long}``; T must be a multiple of ``time_stride``;
- ``decode({level: codes}) -> frames (B, T, C, H, W)`` in [0, 1]; levels left out are decoded as absent (what the
  coarse-levels-only reconstructions show);
- ``latent_shape(level, num_frames)``, ``time_strides`` (frames per code step, per level), ``codebook_sizes`` and
  from them ``bits_per_code`` and ``bit_budget``;
- ``loss(clips) -> LossOutput`` for its own training stage.

Code extraction, ``vidpred reconstruct`` / ``encode``, bit budgets and code-usage plots use only this protocol, so
they work for any number of levels.

``TokenizedConfig`` and ``TokenizedPredictor`` hold what the staged VQ predictors share (derived config fields, the
unfinished-pipeline check, the context window).

A **code prior** models the codes: ``logits(batch) -> (logits (N, K, ...), targets (N, ...))`` on a batch of code
sequences ``{level: codes}``; its loss is the teacher-forced cross-entropy in nats per code.
"""
from __future__ import annotations

import abc
import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from vidpred.models.base import LossOutput, Predictor


class Tokenizer(nn.Module, abc.ABC):
    levels: tuple[str, ...] = ()

    @property
    @abc.abstractmethod
    def time_strides(self) -> dict[str, int]:
        """Frames per code step at each level."""

    @property
    @abc.abstractmethod
    def codebook_sizes(self) -> dict[str, int]:
        """Codes per level (K)."""

    @property
    @abc.abstractmethod
    def num_frames(self) -> int:
        """Frames of one training clip."""

    @abc.abstractmethod
    def latent_shape(self, level: str, num_frames: int) -> tuple[int, int, int]:
        """(t, h, w) of ``level``'s codes for a clip of ``num_frames`` frames."""

    @abc.abstractmethod
    def encode(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, T, C, H, W) in [0, 1] -> {level: codes (B, t, h, w) long}."""

    @abc.abstractmethod
    def decode(self, codes: dict[str, torch.Tensor]) -> torch.Tensor:
        """{level: codes} (a prefix of ``levels``: the first k) -> frames (B, T, C, H, W) in [0, 1]."""

    @abc.abstractmethod
    def loss(self, clips: torch.Tensor) -> LossOutput:
        """The tokenizer's training loss on clips (B, T, C, H, W)."""

    @property
    def time_stride(self) -> int:
        """Frames a clip's length must be a multiple of."""
        return max(self.time_strides.values())

    @property
    def bits_per_code(self) -> dict[str, float]:
        return {level: math.log2(k) for level, k in self.codebook_sizes.items()}

    @torch.no_grad()
    def reconstruct(self, frames: torch.Tensor) -> torch.Tensor:
        """Encode and decode with every level."""
        return self.decode(self.encode(frames))

    def bit_budget(self, num_frames: int | None = None) -> dict:
        """Latent bits (positions x log2 K, summed over levels) over pixel bits (T x H x W x C x 8) of one clip."""
        num_frames = num_frames or self.num_frames
        latent = sum(math.prod(self.latent_shape(level, num_frames)) * self.bits_per_code[level]
                     for level in self.levels)
        c, h, w = self.frame_shape
        pixels = num_frames * c * h * w * 8
        return {"latent_bits": latent, "pixel_bits": pixels, "ratio": latent / pixels}

    @property
    @abc.abstractmethod
    def frame_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the frames it takes."""


class CodePrior(nn.Module, abc.ABC):
    """What every prior over codes shares: teacher-forced cross-entropy over its ``logits(batch)``, in nats per code
    (in float32 under autocast)."""

    @abc.abstractmethod
    def logits(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (N, K, ...) and the codes they predict (N, ...)."""

    def loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        logits, target = self.logits(batch)
        nll = F.cross_entropy(logits.float(), target)
        return LossOutput(nll, {"nats_per_dim": nll.detach()})


class TokenizedConfig:
    """What the predictor interface and the experiment read of a staged VQ model's config (a dataclass with a
    ``tokenizer`` config and ``context_frames``), derived from those two."""

    @property
    def channels(self) -> int:
        return self.tokenizer.channels

    @property
    def image_size(self) -> int:
        return self.tokenizer.image_size

    @property
    def clip_frames(self) -> int:
        return self.tokenizer.num_frames

    @property
    def num_context(self) -> int:
        return self.context_frames

    @property
    def num_predicted(self) -> int:
        """Frames one window predicts (longer horizons slide the window)."""
        return self.tokenizer.num_frames - self.context_frames


class TokenizedPredictor(Predictor):
    """What the staged VQ predictors share: a ``tokenizer`` that trains on clips (the first stage, so ``loss`` is
    its loss) and reconstructs (FVD*), a ``stages_trained`` buffer counting the finished stages, and a context of
    exactly ``context_frames`` frames."""

    uses_temperature = True
    system = "this pipeline"  # how messages name the model

    def __init__(self, config):
        super().__init__(config)
        # How many pipeline stages have trained these weights (saved with them): predict needs all of them.
        self.register_buffer("stages_trained", torch.zeros((), dtype=torch.long))

    @property
    def min_context(self) -> int:
        return self.config.context_frames

    @property
    def max_context(self) -> int:
        return self.config.context_frames

    def loss(self, batch: torch.Tensor) -> LossOutput:
        """Clips train the tokenizer (the first stage); the priors train on codes in their own stages."""
        return self.tokenizer.loss(batch)

    @torch.no_grad()
    def reconstruct(self, video: torch.Tensor) -> torch.Tensor:
        """The tokenizer's reconstruction (FVD* compares samples with it, Walker et al. Table 2)."""
        return self.tokenizer.reconstruct(video)

    def latest_context(self, context: torch.Tensor) -> torch.Tensor:
        """The last ``context_frames`` frames of ``context``, after refusing an unfinished pipeline (one sentence)
        and saying when frames are dropped."""
        stages, frames = self.pipeline.num_stages, self.config.context_frames
        if int(self.stages_trained) < stages:
            raise ValueError(f"{self.system} has finished {int(self.stages_trained)} of its {stages} training stages "
                             f"({', '.join(self.pipeline.stage_names)}); train it to the end with `vidpred train` "
                             "before predicting")
        if context.shape[1] != frames:
            warnings.warn(f"{self.system} conditions on {frames} frames; using the last {frames} of the "
                          f"{context.shape[1]} context frames", stacklevel=4)
        return context[:, -frames:]
