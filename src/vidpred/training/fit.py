"""One Lightning run: optimise a model's loss (or a pipeline stage's part) and publish its weights."""
from __future__ import annotations

import hashlib
import json
import logging
import resource
import signal
import sys
import time
import warnings
from pathlib import Path

import lightning as L
import torch

from vidpred.config import ConfigError, atomic_write_text
from vidpred.models.io import build_model, load_weights, save_model
from vidpred.models.registry import model_spec
from vidpred.training.adversarial import AdversarialModule
from vidpred.training.callbacks import AtomicCheckpoint, LogLines, ProgressBar, SampleGrids, StopOnInterrupt, TimeBudget
from vidpred.training.config import ExperimentConfig, last_checkpoint, run_config
from vidpred.training.errors import NonFiniteLoss
from vidpred.training.loggers import close_loggers, log_config, make_loggers
from vidpred.training.module import ClipDataModule, PredictorModule

# The Lightning module of each kind of training a registry entry can name (``ModelSpec.training``).
MODULES = {"loss": PredictorModule, "adversarial": AdversarialModule}


def weights_digest(module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class _QuietLightning(logging.Filter):
    """Drops Lightning's lines that repeat or advertise: its tip to install its cloud logger (printed at the start
    of every training stage), its line on Ctrl-C and its two lines on restoring a checkpoint (vidpred says what
    happened in its own one line)."""

    QUIET = ("litlogger", "Detected KeyboardInterrupt", "Restoring states from the checkpoint",
             "Restored all states from the checkpoint")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in self.QUIET)


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_QuietLightning())


def check_checkpoint(path: Path) -> None:
    """Load ``path`` the way resuming will (``weights_only``: tensors and plain Python, never code) and say in one
    sentence what is wrong if that fails, before the Trainer starts; there is no fallback to an unsafe loader."""
    import pickle

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note on the pickle protocol; the error below says it all
            torch.load(path, map_location="cpu", weights_only=True)
            return
    except pickle.UnpicklingError:
        why = "it holds objects other than tensors and plain values, which could run code, so it is refused"
    except Exception as err:
        why = f"it is damaged or truncated ({type(err).__name__})"
    raise ConfigError(f"{path} cannot be loaded safely to resume: {why}; delete it to restart this stage, "
                      "or pass --fresh to start the run over")


def train_predictor(cfg: ExperimentConfig, folder: Path, resume: bool = True, model=None, publish: bool = True,
                    datasets: dict | None = None, callbacks: tuple = ()):
    """The single-stage pipeline: optimise the model's loss with Lightning, then publish its weights.
    Returns the trained model (in memory). A stage of a longer pipeline passes its part of the model (``model``,
    whose ``loss`` takes what ``datasets`` -- {"train": ..., "test": ...} -- yield) and publishes it itself.
    The Lightning module is the one the model's registry entry names (``training``: "loss" or "adversarial").
    ``callbacks``: Lightning callbacks added to the run's own (``vidpred tune`` prunes a trial through one)."""
    t = cfg.trainer
    last = last_checkpoint(folder)
    checkpoints = last.parent
    if resume and last.is_file():
        check_checkpoint(last)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if torch.cuda.is_available():  # TF32 matrix products on Ampere and later; bf16 autocast is the config's precision
        torch.set_float32_matmul_precision("high")
    if model is None:
        model = build_model(cfg.model)
        if t.init_from and not (resume and last.is_file()):
            load_weights(model, t.init_from)
            print(f"vidpred: starting from the weights in {t.init_from}", file=sys.stderr)
    count = sum(p.numel() for p in model.parameters())
    print(f"vidpred: training {cfg.model.name if publish else type(model).__name__} ({count:,} parameters) "
          f"into {folder}", file=sys.stderr)
    module = MODULES[model_spec(cfg.model.name).training if publish else "loss"](model, cfg)
    data = ClipDataModule(cfg, module, datasets)
    checkpoints.mkdir(parents=True, exist_ok=True)
    checkpoint = AtomicCheckpoint(checkpoints, t.checkpoint_every)
    interrupt = StopOnInterrupt(checkpoint)
    callbacks = [checkpoint, interrupt, LogLines(max(1, 10 * t.log_every)), *callbacks]
    if t.sample_every:
        callbacks.append(SampleGrids(folder / "samples", t.sample_every))
    if t.max_minutes:
        callbacks.append(TimeBudget(t.max_minutes, t.budget_clock))
    interactive = sys.stderr.isatty()  # elsewhere (a log file) LogLines writes a line every few steps
    if interactive:
        callbacks.append(ProgressBar())
    loggers = make_loggers(cfg, folder)
    log_config(loggers, cfg)
    trainer = L.Trainer(
        accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=t.strategy,
        precision=t.precision, max_steps=t.max_steps, max_epochs=-1,
        # max_steps ends the run. One pass of the loader (max_steps batches, resumed from its position) is the
        # whole run; a finished run continued with a larger budget (runner.py) restores a pass Lightning counts as
        # ended, so the rest of the batches come in the next "epoch"
        deterministic=t.deterministic,
        callbacks=callbacks, logger=loggers or False, enable_checkpointing=False, use_distributed_sampler=False,
        num_sanity_val_steps=0, log_every_n_steps=t.log_every,
        val_check_interval=t.val_every or None, check_val_every_n_epoch=None if t.val_every else 1,
        limit_val_batches=t.val_batches if t.val_every else 0, default_root_dir=folder,
        enable_model_summary=False, enable_progress_bar=interactive, **module.trainer_settings())
    ckpt_path = str(last) if resume and last.is_file() else None
    if ckpt_path:
        print(f"vidpred: resuming {cfg.name} from {last}", file=sys.stderr)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # The loader resumes mid-pass by itself (training/loader.py); Lightning cannot know that.
        warnings.filterwarnings("ignore", message=".*resuming from a checkpoint that ended before the epoch ended.*")
        # Lightning 2.6 calls a torch API torch 2.13 deprecates, on every step; nothing for a user to do
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated.*")
        try:
            trainer.fit(module, datamodule=data, ckpt_path=ckpt_path, weights_only=True)
        except SystemExit:  # Lightning turns a KeyboardInterrupt (a second Ctrl-C) into exit(1), ignoring SIGINT
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if trainer.interrupted:
                raise KeyboardInterrupt from None
            raise
        finally:
            interrupt.restore()  # a stopping run ignored SIGINT until Lightning had finished (StopOnInterrupt)
            close_loggers(loggers)
    if interrupt.stopped:  # at the end of a step, with its checkpoint; the stage is not finished
        raise KeyboardInterrupt
    if module.non_finite:
        raise NonFiniteLoss(f"{cfg.name}: {module.non_finite} ({last})")
    atomic_write_text(folder / "logs" / f"weights_digest_rank{trainer.global_rank}.txt", weights_digest(model) + "\n")
    if trainer.is_global_zero:
        if publish:
            save_model(model, folder, config=run_config(cfg, folder))
        seconds = time.perf_counter() - started
        steps = trainer.global_step
        summary = {"steps": steps, "parameters": count, "seconds_this_session": round(seconds, 1),
                   "steps_per_second_this_session":
                       round((module.batches_trained - module.resumed_at) / max(seconds, 1e-9), 3),
                   "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                   "batch_size": t.batch_size, "devices": trainer.world_size,
                   "accelerator": type(trainer.accelerator).__name__}
        if torch.cuda.is_available():
            summary["peak_cuda_memory_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        atomic_write_text(folder / "logs" / "run_summary.json", json.dumps(summary, indent=2))
        print(f"vidpred: {steps} steps; {summary['steps_per_second_this_session']} steps/s this session; "
              f"peak memory {summary['peak_memory_mib']} MiB", file=sys.stderr)
    return model
