"""The interface every predictor in vidpred has (DESIGN.md).

- ``loss(batch) -> LossOutput(total, parts)`` for training on clips ``(B, T, C, H, W)``;
- ``predict(context (B, Tc, C, H, W), horizon, num_samples=1, generator=None) -> (B, num_samples, horizon, C, H, W)``,
  float in [0, 1]; deterministic models return identical samples, stochastic ones differ across samples and are
  reproducible with a seeded ``generator``;
- ``example_batch(cfg)``: a batch of the right shape, for tests and summaries.
"""
from __future__ import annotations

import abc
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

Tensor = torch.Tensor


@contextmanager
def evaluating(module: nn.Module):
    """``module`` in evaluation mode inside the block, back in the mode it had after it (also on an error)."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@dataclass
class ModelConfig:
    """Fields every model config has; each model's config subclasses it."""
    name: str = ""
    channels: Literal[1, 3] = 1
    image_size: int = 64
    num_context: int = 10  # context frames the model is trained with
    num_predicted: int = 10  # frames it is trained to predict

    @property
    def clip_frames(self) -> int:
        """Frames of one training clip: context plus predicted."""
        return self.num_context + self.num_predicted

    def validate(self) -> None:
        if self.image_size < 1 or self.num_context < 0 or self.num_predicted < 1:
            raise ValueError("image_size and num_predicted must be positive and num_context non-negative")


@dataclass(frozen=True)
class Pipeline:
    """How a model trains in stages (``training/stages.py`` runs them): the tokenizer (an attribute of the model
    holding a ``models/tokenizer.py`` Tokenizer) on clips, then the data set's codes extracted through it ("codes"),
    then each code prior (attributes too) on the codes, in order; with ``joint``, a last stage "joint" trains the
    model on clips through that method (``loss(clips)``-like: S-HR-VQVAE's Eq. 9). The model config has
    ``context_frames``: the frames the priors condition on, encoded alone in the "codes" stage."""
    tokenizer: str
    priors: tuple[str, ...]
    joint: str | None = None

    @property
    def stage_names(self) -> tuple[str, ...]:
        return (self.tokenizer, "codes", *self.priors, *(("joint",) if self.joint else ()))

    @property
    def num_stages(self) -> int:
        return len(self.stage_names)


@dataclass
class LossOutput:
    total: Tensor
    parts: dict[str, Tensor] = field(default_factory=dict)


class Predictor(nn.Module, abc.ABC):
    """Base class: input checks shared by every model; subclasses implement ``_predict`` and ``loss``."""

    min_context: int = 1  # fewest context frames ``predict`` accepts
    max_context: int | None = None  # most it conditions on (the last ones of a longer context); None: all it is given
    stochastic: bool = False
    uses_temperature: bool = False  # whether ``temperature`` changes this model's samples
    # what a model loaded from a folder was trained on (``models.io.training_data``: the data set, its channels and
    # intensity), set by the loader; prediction and evaluation say when their input looks nothing like it
    trained_on: dict | None = None

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    @classmethod
    def pipeline_for(cls, config) -> Pipeline | None:
        """How a model of this class with ``config`` trains in stages (tokenizer -> codes -> priors); None: in one."""
        return None

    @property
    def pipeline(self) -> Pipeline | None:
        return self.pipeline_for(self.config)

    def check_context(self, context: Tensor) -> Tensor:
        c, s = self.config.channels, self.config.image_size
        if not isinstance(context, Tensor) or context.dim() != 5:
            shape = tuple(context.shape) if isinstance(context, Tensor) else type(context).__name__
            raise ValueError(f"context has shape {shape}; expected (B, T, C, H, W)")
        if context.shape[1] < self.min_context:
            raise ValueError(f"context has {context.shape[1]} frames; the model needs at least {self.min_context}")
        if tuple(context.shape[2:]) != (c, s, s):
            raise ValueError(f"context frames are {tuple(context.shape[2:])} (C, H, W); the model takes {(c, s, s)}")
        if not torch.isfinite(context).all():
            raise ValueError("context contains NaN or infinite values")
        return context

    @torch.no_grad()
    def predict(self, context: Tensor, horizon: int, num_samples: int = 1,
                generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``num_samples`` continuations of ``horizon`` frames of each context ``(B, Tc, C, H, W)`` in [0, 1]:
        ``(B, num_samples, horizon, C, H, W)`` in [0, 1]. A seeded ``generator`` makes the samples reproducible;
        ``temperature`` scales a sampling model's randomness (``uses_temperature``). The context is checked first
        (shape, frames, finite values), each problem one sentence."""
        self.check_context(context)
        if horizon < 1 or num_samples < 1:
            raise ValueError(f"horizon ({horizon}) and num_samples ({num_samples}) must be at least 1")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        return self._predict(context, horizon, num_samples, generator, temperature)

    @abc.abstractmethod
    def _predict(self, context: Tensor, horizon: int, num_samples: int, generator, temperature: float) -> Tensor:
        """``predict`` after its input checks: ``(B, num_samples, horizon, C, H, W)`` in [0, 1]."""

    @abc.abstractmethod
    def loss(self, batch: Tensor) -> LossOutput:
        """Training loss on clips ``(B, T, C, H, W)``: ``num_context`` frames of context, the rest to predict."""

    @staticmethod
    def example_batch(cfg: ModelConfig, batch_size: int = 2) -> Tensor:
        return torch.rand(batch_size, cfg.clip_frames, cfg.channels, cfg.image_size, cfg.image_size)


@dataclass
class ModelSpec:
    """A model the registry (``models/registry.py``) knows: its config dataclass, the class built from it, one line
    about it, and which kind of training it takes: "loss" (one optimizer on ``loss(batch)``; a model whose
    ``pipeline_for(config)`` is set trains in stages, each of them so) or "adversarial" (two optimizers, alternating
    steps; ``training/adversarial.py``). ``test_config`` gives a small config the registry-wide contract tests build
    (default: the config class's defaults)."""
    name: str
    config_cls: type
    build: Callable
    description: str
    training: Literal["loss", "adversarial"] = "loss"
    test_config: Callable | None = None
