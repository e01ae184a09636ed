"""The LightningModule that trains any registered predictor through its ``loss(batch)``, and its data module."""
from __future__ import annotations

import math
import random

import lightning as L
import numpy as np
import torch

from vidpred.models.base import Predictor
from vidpred.training.config import ExperimentConfig
from vidpred.training.loader import ResumableLoader


def rng_state() -> dict:
    """Every random state a training step can draw from, as tensors and plain Python (loadable weights_only)."""
    numpy_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": {"keys": torch.from_numpy(numpy_state[1].astype(np.int64)), "pos": int(numpy_state[2]),
                       "has_gauss": int(numpy_state[3]), "cached_gaussian": float(numpy_state[4])}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def optimizer_and_scheduler(parameters, cfg: ExperimentConfig):
    """The experiment's optimizer over ``parameters`` (fused Adam where the device has it: CPU and CUDA) and its
    per-step learning-rate schedule (warm-up, then constant or cosine)."""
    o = cfg.optim
    optimizer_cls = torch.optim.AdamW if o.optimizer == "adamw" else torch.optim.Adam
    params = [p for p in parameters if p.requires_grad]
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    optimizer = optimizer_cls(params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay,
                              fused=fused or None)
    total = max(cfg.trainer.max_steps, 1)

    def factor(step: int) -> float:
        if o.warmup_steps and step < o.warmup_steps:
            return (step + 1) / o.warmup_steps
        if o.scheduler == "cosine":
            progress = min(1.0, (step - o.warmup_steps) / max(1, total - o.warmup_steps))
            return 0.5 * (1 + math.cos(math.pi * progress))
        return 1.0

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class TrainingModule(L.LightningModule):
    """What every kind of training shares: the model, the loader position and random states in checkpoints, the
    guard against non-finite losses, logging, and validation on ``model.loss``."""

    # Reading a loss on an accelerator makes the host wait for the device, every step. There the finiteness of each
    # loss is folded into a flag on the device instead, read when a step is logged and before every checkpoint
    # (``confirm_finite``): a non-finite loss then stops the run at the next of those, and no checkpoint is written
    # after one. On the CPU there is nothing to wait for: each loss is checked at once and its update skipped.
    defer_finite_check: bool | None = None  # None: decided by the loss's device

    def __init__(self, model: Predictor | torch.nn.Module, cfg: ExperimentConfig):
        super().__init__()
        self.model, self.cfg = model, cfg
        self.batches_trained = 0  # the loader's position; saved in checkpoints
        self.resumed_at = 0  # batches_trained when this session started (after a restart: the checkpoint's)
        self.non_finite: str | None = None
        self._finite: torch.Tensor | None = None  # the deferred check's flag (``defer_finite_check``)
        self._finite_since = 0  # the step after which the flag began

    def trainer_settings(self) -> dict:
        """Keyword arguments this kind of training needs from Lightning's Trainer."""
        return {}

    def check_finite(self, out) -> bool:
        """False (and stop, keeping the last good weights and checkpoint) when ``out.total`` is NaN or infinite; where
        the check is deferred (an accelerator), True, and the loss's finiteness joins the device flag."""
        total = out.total.detach()
        defer = self.defer_finite_check if self.defer_finite_check is not None else total.device.type != "cpu"
        if defer:
            finite = torch.isfinite(total)
            self._finite = finite if self._finite is None else self._finite & finite
            return True
        if torch.isfinite(total):
            return True
        self._stop(f"the training loss became {total.item()} at step {self.global_step + 1}")
        return False

    def confirm_finite(self) -> bool:
        """Read the deferred flag (this waits for the device): False, and stop, when a loss since the last reading
        was not finite."""
        if self.non_finite is not None:
            return False
        if self._finite is None or bool(self._finite):
            self._finite, self._finite_since = None, self.global_step
            return True
        steps = (f"at step {self.global_step}" if self._finite_since + 1 == self.global_step else
                 f"between steps {self._finite_since + 1} and {self.global_step}")
        self._stop(f"the training loss became NaN or infinite {steps}")
        return False

    def _stop(self, what: str) -> None:
        self.non_finite = f"{what}; the run stopped and kept its last good checkpoint"
        self.trainer.should_stop = True

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if self._finite is not None and self.global_step % max(1, self.cfg.trainer.log_every) == 0:
            self.confirm_finite()

    def log_parts(self, prefix: str, out, **kwargs) -> None:
        self.log(f"{prefix}/loss", out.total, **kwargs)
        for name, value in out.parts.items():
            self.log(f"{prefix}/{name}", value, **({"sync_dist": True} if kwargs.get("sync_dist") else {}))

    def validation_step(self, batch: torch.Tensor, batch_idx: int):
        with torch.random.fork_rng(devices=[]):  # validation must not move the training random stream
            out = self.model.loss(batch)
        self.log_parts("val", out, sync_dist=True)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["vidpred"] = {"batches_trained": self.batches_trained, "rng": rng_state()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint["vidpred"]
        self.batches_trained = self.resumed_at = state["batches_trained"]
        set_rng_state(state["rng"])


class PredictorModule(TrainingModule):
    """Training kind "loss": any model with ``loss(batch) -> LossOutput`` (a predictor, or a pipeline stage such as
    a tokenizer or a prior): one optimizer on ``total``; gradient clipping by Lightning."""

    def trainer_settings(self) -> dict:
        return {"gradient_clip_val": self.cfg.optim.grad_clip,
                "accumulate_grad_batches": self.cfg.trainer.accumulate_batches}

    def training_step(self, batch: torch.Tensor, batch_idx: int):
        out = self.model.loss(batch)
        self.batches_trained += 1
        if not self.check_finite(out):
            return None  # skip this update: the weights are still the last finite ones
        self.log_parts("train", out, prog_bar=True)
        return out.total

    def configure_optimizers(self):
        optimizer, scheduler = optimizer_and_scheduler(self.model.parameters(), self.cfg)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class ClipDataModule(L.LightningDataModule):
    """Training batches from the resumable loader; validation batches from the start of ``trainer.val_split``.
    ``datasets`` ({"train", "test"}) replaces the experiment's data set (a prior stage trains on code arrays)."""

    def __init__(self, cfg: ExperimentConfig, module: TrainingModule, datasets: dict | None = None):
        super().__init__()
        self.cfg, self.module = cfg, module
        self._train = self._test = None
        self._given = datasets is not None
        if datasets:
            self._train, self._test = datasets["train"], datasets.get("test")

    def setup(self, stage: str) -> None:
        from vidpred.data import build_dataset

        if self._train is None:
            self._train = build_dataset(self.cfg.data, "train")
        if self.cfg.trainer.val_every and self._test is None:
            self._test = build_dataset(self.cfg.data, self.cfg.trainer.val_split)

    def _frames(self, clips):
        return clips if self._given else clips[:, :self.cfg.model.clip_frames]

    def train_dataloader(self):
        t = self.cfg.trainer
        loader = ResumableLoader(self._train, t.batch_size, t.max_steps * t.accumulate_batches, seed=self.cfg.seed,
                                 rank=self.trainer.global_rank, world=self.trainer.world_size,
                                 num_workers=t.num_workers, pin_memory=self.module.device.type == "cuda")
        loader.start = self.module.batches_trained  # after a restart: continue where training stopped
        return _Mapped(loader, self._frames)

    def val_dataloader(self):
        t = self.cfg.trainer
        count = min(len(self._test), t.val_batches * t.batch_size)
        subset = torch.utils.data.Subset(self._test, range(count))
        return _Mapped(torch.utils.data.DataLoader(subset, batch_size=t.batch_size, num_workers=t.num_workers),
                       self._frames)


class _Mapped:
    """An iterable that applies ``fn`` to each batch of ``loader`` (and keeps its length)."""

    def __init__(self, loader, fn):
        self.loader, self.fn = loader, fn

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        return (self.fn(batch) for batch in self.loader)
