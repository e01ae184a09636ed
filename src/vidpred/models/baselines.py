"""Baselines that need no training, so the evaluation pipeline is useful before any model exists.

- ``blank``: every future frame is black (all zeros). On Moving MNIST, whose frames are mostly black, it scores
  SSIM (uniform 7x7) of about 0.78 and MSE about 164, better than copy-last on both: a model counts as predicting
  only when it beats this.
- ``copy_last``: every future frame is the last context frame (the "zero motion" floor every table should beat).
- ``linear_extrapolation``: each pixel continues its last change, x_{T+k} = x_T + k (x_T - x_{T-1}), clipped
  to [0, 1].

Both are deterministic: all samples are the same. Their ``loss`` is the mean squared error of their
prediction of the batch's future frames; they have no parameters to train.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vidpred.models.base import LossOutput, ModelConfig, ModelSpec, Predictor, Tensor


@dataclass
class BlankConfig(ModelConfig):
    name: str = "blank"


@dataclass
class CopyLastConfig(ModelConfig):
    name: str = "copy_last"


@dataclass
class LinearExtrapolationConfig(ModelConfig):
    name: str = "linear_extrapolation"


class _Baseline(Predictor):
    @abc.abstractmethod
    def _one(self, context: Tensor, horizon: int) -> Tensor:
        """The one (deterministic) future ``(B, horizon, C, H, W)``."""

    def _predict(self, context: Tensor, horizon: int, num_samples: int, generator, temperature: float) -> Tensor:
        future = self._one(context, horizon)  # (B, H, C, H, W)
        return future.unsqueeze(1).expand(-1, num_samples, -1, -1, -1, -1).contiguous()

    def loss(self, batch: Tensor) -> LossOutput:
        k = self.config.num_context
        self.check_context(batch[:, :k])
        error = F.mse_loss(self._one(batch[:, :k], batch.shape[1] - k), batch[:, k:])
        return LossOutput(error, {"mse": error.detach()})


class Blank(_Baseline):
    min_context = 1

    def _one(self, context: Tensor, horizon: int) -> Tensor:
        return context.new_zeros(context.shape[0], horizon, *context.shape[2:])


class CopyLast(_Baseline):
    min_context = 1

    def _one(self, context: Tensor, horizon: int) -> Tensor:
        return context[:, -1:].expand(-1, horizon, -1, -1, -1)


class LinearExtrapolation(_Baseline):
    min_context = 2

    def _one(self, context: Tensor, horizon: int) -> Tensor:
        last, step = context[:, -1:], context[:, -1:] - context[:, -2:-1]
        k = torch.arange(1, horizon + 1, dtype=context.dtype, device=context.device).view(1, -1, 1, 1, 1)
        return (last + k * step).clamp(0, 1)


SPECS = (
    ModelSpec("blank", BlankConfig, Blank, "predict black frames (deterministic)"),
    ModelSpec("copy_last", CopyLastConfig, CopyLast, "repeat the last context frame (deterministic)"),
    ModelSpec("linear_extrapolation", LinearExtrapolationConfig, LinearExtrapolation,
              "continue each pixel's last change, clipped to [0, 1] (deterministic)"),
)
