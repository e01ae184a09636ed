"""The experiment trackers of a run (``trainer.loggers``): what each one is given and where it writes.

    csv          logs/csv/metrics.csv (every step of every attempt, resumed or not) and hparams.yaml
    tensorboard  logs/tensorboard/ event files (``tensorboard --logdir runs``)
    wandb        Weights & Biases through Lightning's logger, its files under logs/wandb/; offline when
                 ``trainer.tracking.offline`` is set or WANDB_MODE=offline (``wandb sync`` uploads them later)
    mlflow       MLflow through Lightning's logger, into ``trainer.tracking.mlflow_uri`` (default: logs/mlflow.db)

Each tracker gets the logged metrics, the resolved config (as hyperparameters) and the sample grids the run
writes (``samples/step_XXXXXX.gif``; a tracker is given the still picture of the same grid). A resumed run writes
into the same tracker run: its id is kept in the run folder.
"""
from __future__ import annotations

import csv
import os
import secrets
from pathlib import Path

import numpy as np
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from vidpred.config import atomic_write_text, flatten, to_dict
from vidpred.training.config import ExperimentConfig


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, except that it keeps an existing ``metrics.csv`` and appends to it (Lightning deletes
    it when the folder is not empty: a resumed run would lose the rows of its earlier attempts)."""

    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as file:
                self.metrics_keys = sorted(next(csv.reader(file), []))  # new columns rewrite the header only


class ResumableCSVLogger(CSVLogger):
    """``logs/csv/metrics.csv`` holding every logged step of every attempt of a run, resumed or not."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


def _rank_zero() -> bool:
    """Whether this process is the one that talks to the trackers (Lightning's rank, read from the launcher's
    environment; the other processes of a multi-GPU run have no tracker run of their own)."""
    from lightning.pytorch.utilities import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def _run_id(folder: Path, tracker: str) -> str | None:
    """The tracker's id for this run folder, made once (by rank zero) and kept, so that a resumed run continues the
    same tracker run."""
    path = folder / "logs" / f"{tracker}_run_id.txt"
    if path.is_file():
        return path.read_text().strip()
    if not _rank_zero():
        return None
    run_id = secrets.token_hex(8)
    atomic_write_text(path, run_id + "\n")
    return run_id


def make_loggers(cfg: ExperimentConfig, folder: Path) -> list:
    """Lightning loggers for ``cfg.trainer.loggers``, writing under ``folder`` (checked installed by the config)."""
    tracking = cfg.trainer.tracking
    run_name = tracking.run_name or cfg.name
    loggers = []
    for name in cfg.trainer.loggers:
        if name == "csv":
            loggers.append(ResumableCSVLogger(folder, name="logs", version="csv"))
        elif name == "tensorboard":
            from lightning.pytorch.loggers import TensorBoardLogger

            loggers.append(TensorBoardLogger(folder, name="logs", version="tensorboard"))
        elif name == "wandb":
            from lightning.pytorch.loggers import WandbLogger

            # wandb itself honours WANDB_MODE=offline; ``offline`` sets it from the config
            loggers.append(WandbLogger(name=run_name, save_dir=str(folder / "logs"), project=tracking.project,
                                       id=_run_id(folder, "wandb"), offline=tracking.offline, tags=tracking.tags,
                                       resume="allow"))
        elif name == "mlflow":
            from lightning.pytorch.loggers import MLFlowLogger

            # locally, MLflow's own default kind of store, a database file (its folder store is deprecated), with
            # the pictures beside it (MLflow would put them under the working directory)
            logs = (folder / "logs").resolve()
            uri = tracking.mlflow_uri or f"sqlite:///{logs / 'mlflow.db'}"
            run_id = folder / "logs" / "mlflow_run_id.txt"
            logger = MLFlowLogger(experiment_name=tracking.project, run_name=run_name, tracking_uri=uri,
                                  tags={tag: "" for tag in tracking.tags},
                                  artifact_location=None if tracking.mlflow_uri else (logs / "mlartifacts").as_uri(),
                                  run_id=run_id.read_text().strip() if run_id.is_file() else None)
            if _rank_zero():  # MLflow makes the id; kept for a resumed run
                atomic_write_text(run_id, logger.run_id + "\n")
            loggers.append(logger)
    return loggers


def log_config(loggers: list, cfg: ExperimentConfig) -> None:
    """The resolved config, as each tracker's hyperparameters ("optim/lr": 0.001, ...)."""
    values = flatten(to_dict(cfg), separator="/")
    for logger in loggers:
        logger.log_hyperparams({k: (str(v) if isinstance(v, (list, tuple)) or v is None else v)
                                for k, v in values.items()})


def log_picture(loggers: list, key: str, picture: np.ndarray, step: int) -> None:
    """A uint8 ``(H, W, 3)`` picture (a sample grid) to every tracker that shows pictures; the CSV log has the
    grid's file beside it in the run folder."""
    from lightning.pytorch.loggers import MLFlowLogger, TensorBoardLogger, WandbLogger

    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, picture, step, dataformats="HWC")
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[picture], step=step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_image(logger.run_id, picture, artifact_file=f"{key}/step_{step:06d}.png")


def close_loggers(loggers: list) -> None:
    """End the tracker runs a process keeps open after training (wandb's), so that the next run of the same
    process (a ``vidpred tune`` trial) starts its own."""
    from lightning.pytorch.loggers import WandbLogger

    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.finish()
