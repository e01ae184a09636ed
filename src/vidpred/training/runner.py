"""``vidpred train``: a run folder, the stages of the model's pipeline, Lightning's Trainer.

Run folder (DESIGN.md)::

    runs/<name>/config.yaml          the resolved config (written first; a re-run must match it)
    runs/<name>/model.safetensors    published weights (config.yaml's model section rebuilds the model)
    runs/<name>/checkpoints/last.ckpt  Lightning's state for resuming (loaded with weights_only=True)
    runs/<name>/logs/                TensorBoard (logs/tensorboard) and CSV (logs/csv/metrics.csv)
    runs/<name>/samples/             sample grids written during training
    runs/<name>/stages/<stage>.done  finished stages, skipped by a re-run

Running the same command again resumes from ``last.ckpt`` with optimizer, scheduler, step, data position and
random states, so a run killed at any point ends with the weights an uninterrupted run would have had (bit
for bit on CPU with ``trainer.deterministic=true``).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

from vidpred.config import ConfigError, atomic_write_text, read_yaml, to_dict
from vidpred.training.config import ExperimentConfig
from vidpred.training.fit import train_predictor, weights_digest  # noqa: F401  (the one-run API, re-exported)
from vidpred.training.stages import stages_for


def run_folder(cfg: ExperimentConfig) -> Path:
    return Path(cfg.runs_dir) / cfg.name


def train(cfg: ExperimentConfig, fresh: bool = False) -> Path:
    """Run every unfinished stage of ``cfg``'s pipeline in its run folder; returns the folder."""
    folder = run_folder(cfg)
    resolved = yaml.safe_dump(to_dict(cfg), sort_keys=False)
    if fresh and folder.exists():
        shutil.rmtree(folder)
    saved = folder / "config.yaml"
    if saved.is_file():
        before = read_yaml(saved)
        if before != to_dict(cfg):
            differ = sorted(k for k in set(before) | set(to_dict(cfg)) if before.get(k) != to_dict(cfg).get(k))
            raise ConfigError(f"{folder} holds a run with another config (sections {', '.join(differ)} differ); "
                              "choose another name=, or pass --fresh to start it over")
    atomic_write_text(saved, resolved)
    for stage in stages_for(cfg):
        done = folder / "stages" / f"{stage.name}.done"
        if done.is_file():
            print(f"vidpred: stage {stage.name!r} of {cfg.name} is finished; skipping it", file=sys.stderr)
            continue
        stage.run(cfg, folder, True)
        atomic_write_text(done, "finished\n")
    return folder


