"""Callbacks: atomic periodic checkpoints, sample grids during training, a time budget, and Ctrl-C that stops at
the end of a step with a checkpoint."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import RichProgressBar

from vidpred.training.config import LAST_CHECKPOINT


class AtomicCheckpoint(L.Callback):
    """Writes ``checkpoints/last.ckpt`` every ``every`` optimizer steps and at the end of training, through a
    temporary name, so a run killed at any moment leaves the previous checkpoint intact."""

    def __init__(self, folder: Path, every: int):
        self.folder, self.every = Path(folder), every
        self.saved_step = -1

    def save(self, trainer: L.Trainer) -> None:
        if trainer.global_step == self.saved_step:  # the last periodic save was at the final step
            return
        self.saved_step = trainer.global_step
        tmp = self.folder / f".{LAST_CHECKPOINT}.tmp"
        trainer.save_checkpoint(tmp, weights_only=False)  # the full state; collective under DDP, rank 0 writes
        if trainer.is_global_zero:
            os.replace(tmp, self.folder / LAST_CHECKPOINT)
        trainer.strategy.barrier()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.every and trainer.global_step % self.every == 0 and pl_module.confirm_finite():
            self.save(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        if pl_module.confirm_finite():
            self.save(trainer)


def at_step_boundary(trainer, pl_module) -> bool:
    """Whether the batch just trained completed an optimizer step: training stopped here resumes exactly, with no
    gradients accumulated from batches the resumed loader will not repeat."""
    return pl_module.batches_trained % trainer.accumulate_grad_batches == 0


class StopOnInterrupt(L.Callback):
    """Ctrl-C ends training at the end of the current step, with a checkpoint of that step: nothing is lost, and
    the same command resumes. A second Ctrl-C interrupts at once (from the last checkpoint). One process only:
    under DDP every rank would have to stop at the same step, so there Lightning's own handling stays."""

    def __init__(self, checkpoint: AtomicCheckpoint):
        self.checkpoint = checkpoint
        self.requested = self.stopped = False
        self.previous = None

    def _request(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self.previous)  # a second Ctrl-C interrupts at once
        print("\nvidpred: stopping after this step (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    def on_train_start(self, trainer, pl_module) -> None:
        if trainer.world_size == 1 and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._request)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.requested and not self.stopped and at_step_boundary(trainer, pl_module):
            # from here the run stops with this step's checkpoint: a further Ctrl-C has nothing left to cut short
            # and would only break the shutdown (a traceback, or a hang in a logger's thread), so it is ignored
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if pl_module.confirm_finite():
                self.checkpoint.save(trainer)
            self.stopped = trainer.should_stop = True

    def restore(self) -> None:
        """Give SIGINT back its handler from before training."""
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def teardown(self, trainer, pl_module, stage) -> None:
        if not self.stopped:  # a stopping run has it restored once Lightning has finished (``fit.train_predictor``)
            self.restore()


class SampleGrids(L.Callback):
    """Every ``every`` steps, predicts from a fixed training batch and writes ``samples/step_XXXXXX.gif``."""

    def __init__(self, folder: Path, every: int, num_clips: int = 4):
        self.folder, self.every, self.num_clips = Path(folder), every, num_clips
        self.batch: torch.Tensor | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.batch is None:
            self.batch = batch[: self.num_clips].detach().clone()
        if self.every and trainer.global_step % self.every == 0 and trainer.is_global_zero:
            rows = self.rows(pl_module)
            self.write(rows, trainer.global_step, trainer.loggers)

    def write(self, rows, step: int, loggers=()) -> None:
        """The GIF in the run folder, and its still picture to the trackers that show pictures."""
        from vidpred.io.grid import make_grid, write_grid
        from vidpred.training.loggers import log_picture

        write_grid(self.folder / f"step_{step:06d}.gif", rows, fps=4.0)
        if loggers:
            log_picture(loggers, "samples", make_grid(rows), step)

    def rows(self, pl_module) -> list:
        """Predictors: truth and prediction rows. Models that only reconstruct (a tokenizer): truth and
        reconstruction rows."""
        from vidpred.io.grid import GridRow
        from vidpred.models.base import Predictor, evaluating

        model = pl_module.model
        with evaluating(model), torch.random.fork_rng(devices=[]):  # must not move the training random stream
            if isinstance(model, Predictor):
                k = model.config.num_context
                output = model.predict(self.batch[:, :k], model.config.num_predicted, num_samples=1,
                                       generator=torch.Generator(self.batch.device).manual_seed(0))[:, 0]
                output = torch.cat([self.batch[:, :k], output], dim=1)
                label = "prediction"
            else:
                k, output, label = 0, model.reconstruct(self.batch), "reconstruction"
        rows = []
        for i in range(len(self.batch)):
            rows.append(GridRow(self.batch[i].float().cpu(), f"clip {i} truth", k))
            rows.append(GridRow(output[i].float().cpu(), label, k, predicted=True))
        return rows


class TimeBudget(L.Callback):
    """Stops training cleanly (the end-of-training checkpoint is written) after ``minutes`` of wall time, or of this
    process's CPU time (``clock="cpu"``), counted over the whole run: the time spent before a checkpoint travels in
    it, so a run stopped and resumed trains as long as one that was not (and a finished run given a larger budget
    trains the difference)."""

    def __init__(self, minutes: float, clock: str = "wall"):
        self.seconds, self.started, self.spent_before = minutes * 60.0, None, 0.0
        self.now = time.process_time if clock == "cpu" else time.monotonic

    def spent(self) -> float:
        return self.spent_before + (self.now() - self.started if self.started is not None else 0.0)

    def state_dict(self) -> dict:
        return {"spent_seconds": self.spent()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.spent_before = float(state_dict.get("spent_seconds", 0.0))

    def on_train_start(self, trainer, pl_module) -> None:
        self.started = self.now()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not at_step_boundary(trainer, pl_module):
            return
        over = self.spent() > self.seconds
        if trainer.world_size == 1:  # decided on the host: nothing to wait for on a device
            trainer.should_stop = trainer.should_stop or over
            return
        # several processes stop at the same step: they agree through a collective on their device (NCCL reduces
        # only device tensors)
        flag = torch.tensor(float(over), device=pl_module.device)
        if trainer.strategy.reduce(flag, reduce_op="max") > 0:
            trainer.should_stop = True


class LogLines(L.Callback):
    """Where stderr is not a terminal (a log file, CI), a line every ``every`` optimizer steps: step, loss, speed.
    Once per step: with gradient accumulation several batches end at one step."""

    def __init__(self, every: int):
        self.every, self.last_time, self.last_step = every, None, None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if sys.stderr.isatty() or not trainer.is_global_zero or step % self.every or step == self.last_step:
            return
        self.last_step = step
        now = time.monotonic()
        speed = f", {self.every / (now - self.last_time):.2f} steps/s" if self.last_time else ""
        loss = trainer.callback_metrics.get("train/loss")
        loss_text = f", loss {float(loss):.5f}" if loss is not None else ""
        print(f"step {trainer.global_step}/{trainer.max_steps}{loss_text}{speed}", file=sys.stderr, flush=True)
        self.last_time = now


class ProgressBar(RichProgressBar):
    """Lightning's rich progress bar on a terminal, without the logger's version number ("v_num: oard", the tail
    of our TensorBoard folder's name), which means nothing to a user."""

    def get_metrics(self, trainer, pl_module):
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics
