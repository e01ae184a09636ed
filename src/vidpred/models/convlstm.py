"""ConvLSTM baseline (Shi et al. 2015): encoder -> ConvLSTM stack -> decoder, predicting frame by frame.

Encoder and decoder are the patch reshapes of the PredRNN lineage (whose ConvLSTM row S-HR-VQVAE's Table 2
copies): each frame is cut into ``patch_size`` x ``patch_size`` patches stacked as channels (64x64x1 ->
16x16x16), the stack runs on that grid, and a 1x1 convolution maps the top hidden state back to patch
channels, reassembled into a frame (sigmoid output, in [0, 1]).

Training (``loss``): the clip's first ``num_context`` frames are given; every later input is the model's own
previous prediction (recursive, as at test time), or, with ``scheduled_sampling``, the true frame with a
probability that decays linearly from 1 to 0 over ``sampling_decay_steps`` training steps (Bengio et al.
2015, as PredRNN). The loss is over every next-frame prediction (frames 2..T), L2 and/or L1 per pixel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vidpred.models.base import LossOutput, ModelConfig, ModelSpec, Predictor, Tensor
from vidpred.nn.recurrent import ConvLSTMStack


@dataclass
class ConvLSTMConfig(ModelConfig):
    name: str = "convlstm"
    hidden: tuple[int, ...] = (64, 64)
    kernel_size: int = 5
    patch_size: int = 4
    peephole: bool = False
    loss: Literal["l2", "l1", "l1+l2"] = "l2"
    scheduled_sampling: bool = False
    sampling_decay_steps: int = 50000

    def validate(self) -> None:
        super().validate()
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}")
        if not self.hidden or min(self.hidden) < 1 or self.kernel_size % 2 == 0:
            raise ValueError("hidden needs at least one positive width and kernel_size must be odd")


class ConvLSTMPredictor(Predictor):
    min_context = 1

    def __init__(self, config: ConvLSTMConfig):
        super().__init__(config)
        p = config.patch_size
        grid = config.image_size // p
        patch_channels = config.channels * p * p
        self.stack = ConvLSTMStack(patch_channels, config.hidden, config.kernel_size,
                                   (grid, grid) if config.peephole else None)
        self.decoder = nn.Conv2d(config.hidden[-1], patch_channels, kernel_size=1)
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))  # drives scheduled sampling

    def _step(self, frame: Tensor, states: list) -> tuple[Tensor, list]:
        p = self.config.patch_size
        top, states = self.stack.step(F.pixel_unshuffle(frame, p), states)  # (B, C*p*p, H/p, W/p)
        return torch.sigmoid(F.pixel_shuffle(self.decoder(top), p)), states  # (B, C, H, W)

    def _rollout(self, clip: Tensor, num_context: int, total: int, teacher: Tensor | None = None) -> Tensor:
        """Predictions of frames 1..total-1 (B, total - 1, C, H, W); inputs after the context are the model's own
        predictions, except where ``teacher`` (B, total) is True: there the true frame of ``clip`` is fed."""
        states = self.stack.initial_state(clip)
        frame, outputs = clip[:, 0], []
        for t in range(total - 1):
            prediction, states = self._step(frame, states)
            outputs.append(prediction)
            if t + 1 < num_context:
                frame = clip[:, t + 1]
            elif teacher is not None and t + 1 < clip.shape[1]:
                use_truth = teacher[:, t + 1].view(-1, 1, 1, 1)
                frame = torch.where(use_truth, clip[:, t + 1], prediction)
            else:
                frame = prediction
        return torch.stack(outputs, dim=1)

    def loss(self, batch: Tensor) -> LossOutput:
        cfg = self.config
        self.check_context(batch[:, :cfg.num_context])
        teacher = None
        if cfg.scheduled_sampling and self.training:
            keep = (1.0 - self.train_steps / cfg.sampling_decay_steps).clamp(min=0.0)  # on the device: no wait
            teacher = torch.rand(batch.shape[:2], device=batch.device) < keep
        if self.training:
            self.train_steps += 1
        predictions = self._rollout(batch, cfg.num_context, batch.shape[1], teacher)
        target = batch[:, 1:]
        parts = {}
        if "l2" in cfg.loss:
            parts["l2"] = F.mse_loss(predictions, target)
        if "l1" in cfg.loss:
            parts["l1"] = F.l1_loss(predictions, target)
        total = sum(parts.values())
        return LossOutput(total, {k: v.detach() for k, v in parts.items()})

    def _predict(self, context: Tensor, horizon: int, num_samples: int, generator, temperature: float) -> Tensor:
        tc = context.shape[1]
        predictions = self._rollout(context, tc, tc + horizon)[:, tc - 1:]  # (B, horizon, C, H, W)
        return predictions.unsqueeze(1).expand(-1, num_samples, -1, -1, -1, -1).contiguous()


SPEC = ModelSpec("convlstm", ConvLSTMConfig, ConvLSTMPredictor,
                "ConvLSTM (Shi et al. 2015), patch encoder/decoder, recursive prediction (deterministic)")
