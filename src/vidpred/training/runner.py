"""``vidpred train``: a run folder, the stages of the model's pipeline, Lightning's Trainer.

Run folder (DESIGN.md)::

    runs/<name>/config.yaml          the resolved config (written first; a re-run must match it) and the
                                     training data's intensity (``data_stats``, measured once)
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

import os
import shutil
import sys
from pathlib import Path

import torch
import yaml

from vidpred.config import ConfigError, atomic_write_text, flatten, read_yaml, to_dict
from vidpred.data import build_dataset
from vidpred.data.base import intensity_stats
from vidpred.models.io import CONFIG_FILE, WEIGHTS_FILE, build_model, check_same_model
from vidpred.training.config import (
    DATA_STATS,
    ExperimentConfig,
    StageSettings,
    last_checkpoint,
    load_experiment,
    load_saved_experiment,
)
from vidpred.training.fit import check_checkpoint, train_predictor, weights_digest  # noqa: F401  (the one-run API)
from vidpred.training.stages import stage_config, stages_for

BUDGET = ("max_steps", "max_minutes")  # what may grow between two runs of one folder


def run_folder(cfg: ExperimentConfig) -> Path:
    return Path(cfg.runs_dir) / cfg.name


def train(cfg: ExperimentConfig, fresh: bool = False, callbacks: tuple = ()) -> Path:
    """Run every unfinished stage of ``cfg``'s pipeline in its run folder; returns the folder. ``callbacks``: extra
    Lightning callbacks for a single-stage model's training (``vidpred tune``'s pruning).

    Nothing a user had is lost: a folder that holds something other than a run is refused; a new run that fails or
    is interrupted before its first checkpoint leaves no folder behind; with ``fresh`` the old run is set aside,
    put back if the new one fails before its first checkpoint, and removed only once the new one has one."""
    folder = run_folder(cfg)
    if cfg.trainer.init_from:  # checked before the data are measured
        if len(stages_for(cfg)) > 1:
            raise ConfigError(f"trainer.init_from: {cfg.name} trains in stages; only single-stage models start "
                              "from saved weights")
        if fresh or not last_checkpoint(folder).is_file():  # a run that resumes no longer needs the source
            check_same_model(cfg.model, cfg.trainer.init_from)
    if folder.is_file() or folder.is_dir() and any(folder.iterdir()) and not (folder / CONFIG_FILE).is_file():
        raise ConfigError(f"{folder} holds files that are not a vidpred run; choose another name= or runs_dir=")
    existed = folder.is_dir()
    aside = None
    if fresh and existed:
        aside = folder.with_name(f".{folder.name}.vidpred-replaced-{os.getpid()}")
        os.rename(folder, aside)
    try:
        _train_stages(cfg, folder, callbacks)
    except BaseException:
        if not _progressed(folder) and (aside is not None or not existed):
            shutil.rmtree(folder, ignore_errors=True)  # nothing worth keeping of a run that never checkpointed
            if aside is not None:
                os.rename(aside, folder)
        raise
    finally:
        if aside is not None and aside.exists():  # the new run has a checkpoint: the old one is replaced
            shutil.rmtree(aside, ignore_errors=True)
    return folder


def _progressed(folder: Path) -> bool:
    """Whether a run folder holds anything a re-run resumes from: a checkpoint, a finished stage or weights."""
    return folder.is_dir() and (any(folder.rglob("*.ckpt")) or any(folder.glob("stages/*.done"))
                                or (folder / WEIGHTS_FILE).is_file())


def _train_stages(cfg: ExperimentConfig, folder: Path, callbacks: tuple = ()) -> None:
    resolved = yaml.safe_dump(to_dict(cfg), sort_keys=False)
    saved = folder / CONFIG_FILE
    stats = None
    if saved.is_file():
        before = read_yaml(saved)
        stats = before.pop(DATA_STATS, None)
        if before != to_dict(cfg):
            _reopen_for_a_larger_budget(folder, before, cfg)
    if stats is None:  # measured once, when the run begins; predict compares its input with it
        stats = intensity_stats(build_dataset(cfg.data, "train"))
    atomic_write_text(saved, resolved + yaml.safe_dump({DATA_STATS: stats}, sort_keys=False))
    stages = stages_for(cfg)
    if callbacks and len(stages) > 1:
        raise ConfigError(f"{cfg.name} trains in stages; extra callbacks go to single-stage training only")
    for stage in stages:
        done = folder / "stages" / f"{stage.name}.done"
        if done.is_file():
            print(f"vidpred: stage {stage.name!r} of {cfg.name} is finished; skipping it", file=sys.stderr)
            continue
        stage.run(cfg, folder, True, **({"callbacks": callbacks} if callbacks else {}))
        atomic_write_text(done, "finished\n")


def model_from_checkpoint(folder: str | Path):
    """The model of an unfinished single-stage run, from its last checkpoint (loaded with ``weights_only``), and
    the step it was written at: what ``vidpred export`` gives for a run stopped before it published its weights."""
    folder = Path(folder)
    cfg = load_saved_experiment(folder / CONFIG_FILE)
    if len(stages_for(cfg)) > 1:
        raise ConfigError(f"{folder} trains in stages and has not finished them; export it once `vidpred train` "
                          "has run every stage")
    last = last_checkpoint(folder)
    check_checkpoint(last)
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)
    model = build_model(cfg.model)
    model.load_state_dict({k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()})
    return model.eval(), int(checkpoint["global_step"])


def _budget(cfg: ExperimentConfig, stage: str) -> tuple:
    trainer = cfg.trainer if stage == "train" else stage_config(cfg, stage).trainer
    return tuple(getattr(trainer, key) for key in BUDGET)


def _raised(old, new) -> bool:
    """``new`` allows at least as much as ``old`` (None: no limit)."""
    return new is None or (old is not None and new >= old)


def _reopen_for_a_larger_budget(folder: Path, before: dict, cfg: ExperimentConfig) -> None:
    """A run folder may be run again with a larger ``max_steps`` / ``max_minutes`` (the trainer's or a stage's):
    the stages whose budget grew lose their finished mark and continue from their last checkpoint (the
    learning-rate schedule follows the new length). Any other difference is refused, naming the keys."""
    old, new = flatten(before), flatten(to_dict(cfg))
    # a stage section present on one side only stands for its defaults
    named = set(before.get("stages") or {}) | set(cfg.stages)
    default = flatten({"stages": {name: to_dict(StageSettings()) for name in named}})
    old, new = {**default, **old}, {**default, **new}
    differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    others = [k for k in differ if k.rsplit(".", 1)[-1] not in BUDGET]
    if others:
        raise ConfigError(f"{folder} holds a run with another config ({', '.join(others[:6])} differ); choose "
                          "another name=, or pass --fresh to start it over (only max_steps and max_minutes may grow)")
    previous = load_experiment(base=before)
    stages = [stage.name for stage in stages_for(cfg)]
    grown = [name for name in stages if name != "codes" and _budget(previous, name) != _budget(cfg, name)]
    for name in grown:  # compared as each stage runs (a stage's unset budget is the trainer's)
        for key, was, would in zip(BUDGET, _budget(previous, name), _budget(cfg, name)):
            if not _raised(was, would):
                raise ConfigError(f"{folder}: stage {name!r} would have {key} {would} instead of {was}; a run's "
                                  "budget can only grow (choose another name=, or pass --fresh)")
        later = [s for s in stages[stages.index(name) + 1:] if (folder / "stages" / f"{s}.done").is_file()]
        if later:
            raise ConfigError(f"{folder}: stage {name!r} would train longer, but the finished stages "
                              f"{', '.join(later)} were built on it; choose another name=, or pass --fresh")
    for name in grown:  # every check passed: only now is the folder changed
        (folder / "stages" / f"{name}.done").unlink(missing_ok=True)
        print(f"vidpred: stage {name!r} of {cfg.name} continues with a larger budget "
              f"({', '.join(f'{k} {old.get(k)} -> {new.get(k)}' for k in differ)})", file=sys.stderr)
