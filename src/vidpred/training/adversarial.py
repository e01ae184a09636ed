"""Training kind "adversarial" (``ModelSpec.training``): a generator and a discriminator with two optimizers and
alternating steps, under Lightning's manual optimization.

The model provides ``discriminator_loss(batch)`` and ``generator_loss(batch)`` (each a ``LossOutput``),
``discriminator_parameters()`` and ``generator_parameters()``, and ``loss(batch)`` for validation. Each batch takes
one discriminator step, then one generator step (the generator loss sees the freshly updated discriminator), each
with the experiment's optimizer settings and schedule. Lightning refuses ``gradient_clip_val`` under manual
optimization, so ``optim.grad_clip`` clips each network's gradient norm here, by hand, before its step.

``global_step`` counts batches, as ``max_steps``, checkpoints and logs expect: Lightning counts every step of a
Lightning-wrapped optimizer (Lightning issue 17958), so the discriminator steps its plain torch optimizer. For that
reason the float16 grad scaler (``16-mixed``) is not supported here; 32-true and bf16-mixed are.
"""
from __future__ import annotations

import torch

from vidpred.training.module import TrainingModule, optimizer_and_scheduler


class AdversarialModule(TrainingModule):
    def __init__(self, model, cfg):
        super().__init__(model, cfg)
        if cfg.trainer.precision.startswith("16"):
            raise ValueError(f"adversarial training runs in 32-true or bf16-mixed precision, not "
                             f"{cfg.trainer.precision} (its grad scaler is not applied to the discriminator step)")
        if cfg.trainer.accumulate_batches != 1:
            raise ValueError("adversarial training takes one batch per step; set trainer.accumulate_batches to 1")
        self.automatic_optimization = False

    def configure_optimizers(self):
        g, g_schedule = optimizer_and_scheduler(self.model.generator_parameters(), self.cfg)
        d, d_schedule = optimizer_and_scheduler(self.model.discriminator_parameters(), self.cfg)
        return [g, d], [{"scheduler": g_schedule, "interval": "step"}, {"scheduler": d_schedule, "interval": "step"}]

    def _update(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.cfg.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(list(parameters), self.cfg.optim.grad_clip)
        optimizer.step()

    def training_step(self, batch, batch_idx: int):
        g_opt, d_opt = self.optimizers()
        g_schedule, d_schedule = self.lr_schedulers()
        self.batches_trained += 1
        d_out = self.model.discriminator_loss(batch)
        if not self.check_finite(d_out):
            return None
        self._update(d_opt.optimizer, d_out.total, self.model.discriminator_parameters())
        g_out = self.model.generator_loss(batch)
        if not self.check_finite(g_out):
            return None
        self._update(g_opt, g_out.total, self.model.generator_parameters())
        g_schedule.step()
        d_schedule.step()
        self.log_parts("train/discriminator", d_out)
        self.log_parts("train", g_out, prog_bar=True)
        return None
