"""The experiment config: which model, which data, how to optimise and how to run the trainer.

    name: convlstm_mmnist_small
    seed: 0
    model: {name: convlstm, hidden: [32, 32], ...}       # any registered model's fields
    data: {name: moving_mnist, ...}                      # any registered data set's fields
    optim: {lr: 0.001, ...}
    trainer: {max_steps: 2000, batch_size: 16, accelerator: auto, devices: 1, precision: 32-true, ...}
    stages: {top_prior: {batch_size: 32, lr: 0.001, max_minutes: 35}, ...}   # staged models: per-stage settings

``model`` may name a preset instead of a model (``model: {preset: video_vqvae_mmnist, context_frames: 4}``): the
preset's config with the keys beside it overriding (``models/presets.py``).

``vidpred train CONFIG.yaml a.b=c ...`` loads it with overrides; the resolved config is saved in the run folder.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vidpred.config import load as load_config
from vidpred.config import read_yaml, to_dict
from vidpred.data.base import DataConfig
from vidpred.data.registry import dataset_spec
from vidpred.models.base import ModelConfig
from vidpred.models.io import CONFIG_FILE, DATA_STATS
from vidpred.models.presets import preset
from vidpred.models.registry import model_spec


def check_range(section, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = ()) -> None:
    """One sentence naming the first of a config section's numbers that is out of its range (None: not set, and
    allowed): ``positive`` ones must be above 0 (and finite), ``non_negative`` ones 0 or more."""
    import math

    for names, low, words in ((positive, None, "above 0"), (non_negative, 0, "0 or more")):
        for name in names:
            value = getattr(section, name)
            if value is None:
                continue
            if not math.isfinite(value) or (value <= 0 if low is None else value < low):
                raise ValueError(f"{name} must be {words}, not {value}")


# Lightning's precision settings (``lightning.fabric.connector._PRECISION_INPUT``), as strings
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true", "transformer-engine",
              "transformer-engine-float16", "32", "16", "bf16", "64")


def check_precision(value: str) -> None:
    if str(value) not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS[:6])}, not {value!r}")


@dataclass
class OptimConfig:
    optimizer: Literal["adam", "adamw"] = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    scheduler: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0
    grad_clip: float | None = None  # clip the gradient norm to this value

    def validate(self) -> None:
        check_range(self, positive=("lr", "grad_clip"), non_negative=("weight_decay", "warmup_steps"))
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must each be in [0, 1), not {list(self.betas)}")


# The experiment trackers a run can log to (``training/loggers.py``), and the package each needs
LOGGERS = {"csv": None, "tensorboard": None, "wandb": "wandb", "mlflow": "mlflow"}


@dataclass
class TrackingConfig:
    """Where the trackers of ``trainer.loggers`` file a run (wandb and mlflow; csv and tensorboard write in the run
    folder)."""
    project: str = "vidpred"  # the wandb project, the MLflow experiment
    run_name: str | None = None  # None: the experiment's name
    tags: list[str] = field(default_factory=list)
    offline: bool = False  # wandb: write the run locally only (``wandb sync`` uploads it); so does WANDB_MODE=offline
    mlflow_uri: str | None = None  # an MLflow tracking server or store; None: logs/mlflow.db in the run folder


def check_loggers(names) -> None:
    """One sentence, at config load and so before any training, for an unknown tracker or one not installed."""
    import importlib.util

    for name in names:
        if name not in LOGGERS:
            raise ValueError(f"loggers: {name!r} is not a tracker vidpred knows ({', '.join(LOGGERS)})")
        package = LOGGERS[name]
        if package and importlib.util.find_spec(package) is None:
            raise ValueError(f"loggers: {name} is not installed; pip install 'vidpred[{name}]' (or leave it out)")


@dataclass
class TrainerConfig:
    max_steps: int = 1000
    max_minutes: float | None = None  # stop (cleanly, with a checkpoint) after this much time on budget_clock
    # wall: minutes of the clock on the wall; cpu: minutes of this process's CPU time (all its threads), so that runs
    # sharing cores with other work (two trials of a study on one machine) get the same compute
    budget_clock: Literal["wall", "cpu"] = "wall"
    batch_size: int = 16
    # batches per optimizer step (gradient accumulation): an effective batch of batch_size x accumulate_batches
    # where that many clips do not fit in memory at once (SVG's code release trains at 100; the paper gives no batch
    # size); max_steps counts steps
    accumulate_batches: int = 1
    num_workers: int = 0
    accelerator: str = "auto"  # cpu, gpu/cuda, mps, auto
    devices: int | str = 1  # number of devices per node, or "auto"
    num_nodes: int = 1
    strategy: str = "auto"  # auto, ddp, ddp_spawn, fsdp, ...
    precision: str = "32-true"  # 32-true, bf16-mixed, 16-mixed
    deterministic: bool = False  # torch deterministic algorithms (needed for bit-exact resume)
    checkpoint_every: int = 500  # optimizer steps between checkpoints (one is also written at the end)
    log_every: int = 10
    sample_every: int = 500  # steps between sample GIF grids; 0: never
    val_every: int = 0  # steps between validation (the loss on the first val_batches of val_split); 0: never
    val_batches: int = 4
    val_split: Literal["test", "validation"] = "test"  # validation: held-out training data (``vidpred tune``)
    # fine-tuning: the run starts from the weights saved in this folder (`vidpred export` output, a finished run or
    # pretrained/NAME), built like this config's model, with a fresh optimizer and schedule; on resume the run's
    # own checkpoint wins. Single-stage models only.
    init_from: str | None = None
    loggers: list[str] = field(default_factory=lambda: ["csv", "tensorboard"])  # of LOGGERS
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    def validate(self) -> None:
        check_loggers(self.loggers)
        check_range(self, positive=("max_steps", "max_minutes", "batch_size", "accumulate_batches", "num_nodes",
                                    "checkpoint_every", "log_every", "val_batches"),
                    non_negative=("num_workers", "sample_every", "val_every"))
        if isinstance(self.devices, int) and (self.devices == 0 or self.devices < -1):  # Lightning's -1: all
            raise ValueError(f"devices must be a number of devices (1 or more; -1: all), 'auto' or a list such as "
                             f"'0,1', not {self.devices}")
        check_precision(self.precision)


@dataclass
class StageSettings:
    """How one stage of a staged model trains; every field left null takes the experiment's ``trainer`` / ``optim``
    value. ``train_clips`` / ``test_clips``: how many clips the "codes" stage encodes."""
    batch_size: int | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    lr: float | None = None
    scheduler: Literal["constant", "cosine"] | None = None  # cosine: over the stage's max_steps
    checkpoint_every: int | None = None
    sample_every: int | None = None
    precision: str | None = None
    train_clips: int = 10000
    test_clips: int = 1000

    def validate(self) -> None:
        check_range(self, positive=("batch_size", "max_steps", "max_minutes", "lr", "checkpoint_every", "train_clips",
                                    "test_clips"), non_negative=("sample_every",))
        if self.precision is not None:
            check_precision(self.precision)


@dataclass
class ExperimentConfig:
    name: str
    # any registered model's config: a ModelConfig, or a pipeline stage's config with channels, image_size, clip_frames
    model: ModelConfig = field(metadata={"choose_by": lambda name: model_spec(name).config_cls, "preset": preset})
    data: DataConfig = field(metadata={"choose_by": lambda name: dataset_spec(name).config_cls})
    seed: int = 0
    runs_dir: str = "runs"
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    stages: dict[str, StageSettings] = field(default_factory=dict)

    def validate(self) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be 0 or more, not {self.seed}")
        pipeline = model_spec(self.model.name).build.pipeline_for(self.model)
        known = pipeline.stage_names if pipeline else ()
        unknown = sorted(set(self.stages) - set(known))
        if unknown:
            raise ValueError(f"stages: {', '.join(unknown)} is not a stage of {self.model.name} "
                             f"({', '.join(known) if known else 'it trains in one stage'})")
        needed = self.model.clip_frames
        if self.data.num_frames < needed:
            parts = (f"{self.model.num_context} + {self.model.num_predicted} = "
                     if hasattr(self.model, "num_predicted") else "")
            raise ValueError(f"data.num_frames is {self.data.num_frames}; the model trains on {parts}{needed} frames")
        if (self.data.channels, self.data.image_size) != (self.model.channels, self.model.image_size):
            raise ValueError(f"the data give {self.data.channels}-channel {self.data.image_size}px frames; the model "
                             f"takes {self.model.channels}-channel {self.model.image_size}px frames")


LAST_CHECKPOINT = "last.ckpt"


def last_checkpoint(run_folder) -> Path:
    """Where a run folder (or a stage's folder of a staged run) keeps Lightning's state for resuming; named here,
    away from Lightning, so that ``vidpred export`` can look for it without importing the engine."""
    return Path(run_folder) / "checkpoints" / LAST_CHECKPOINT


def run_config(cfg: ExperimentConfig, folder) -> dict:
    """``cfg`` as saved with a model: the experiment config, with the training data's statistics that the run
    folder's config.yaml recorded when the run began (``runner.train``)."""
    saved = Path(folder) / CONFIG_FILE
    stats = read_yaml(saved).get(DATA_STATS) if saved.is_file() else None
    return {**to_dict(cfg), **({DATA_STATS: stats} if stats else {})}


def load_experiment(path=None, overrides=(), base: dict | None = None) -> ExperimentConfig:
    return load_config(ExperimentConfig, path, list(overrides), base)


def load_saved_experiment(path) -> ExperimentConfig:
    """The experiment in a config file as a run saves it (``runs/<name>/config.yaml``): its recorded
    ``data_stats`` are a measurement, not a setting, and are left out."""
    saved = read_yaml(path)
    saved.pop(DATA_STATS, None)
    return load_experiment(base=saved)
