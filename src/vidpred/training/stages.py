"""Staged training of VQ systems, as plain steps of one config (rosinality's vq-vae-2: train the tokenizer ->
extract codes -> train the priors): every model with a ``pipeline`` (``models/base.py`` ``Pipeline``) trains so.

Stages, each in a sub-folder of the run and skipped once finished (``runner.train``):

1. the tokenizer (the model attribute ``pipeline.tokenizer``) on clips, with the experiment's trainer and optim;
2. "codes": ``stages.codes.train_clips`` training and ``test_clips`` test clips encoded through the tokenizer
   protocol, with each clip's first ``model.context_frames`` frames also encoded alone (``training/codes.py``);
3. each prior (``pipeline.priors``, in order) on the codes; its test NLL in nats per code goes to
   ``<prior>/test_nll.json``;
4. with ``pipeline.joint``, "joint": the whole model on clips through that method (S-HR-VQVAE's Eq. 9), from the
   weights the stages before left.

``stages: {NAME: {...}}`` in the experiment config sets a stage's batch size, steps, minutes, learning rate,
checkpoint and sample intervals, precision (``StageSettings``); unset fields take the experiment's values. After
each stage the whole model is published in the run folder with ``stages_trained`` counting the finished stages.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from vidpred.config import atomic_write_text
from vidpred.data import build_dataset
from vidpred.models.base import evaluating
from vidpred.models.io import WEIGHTS_FILE, build_model, save_model
from vidpred.models.registry import model_spec
from vidpred.training.codes import CodeDataset, encode_dataset
from vidpred.training.config import ExperimentConfig, StageSettings, run_config
from vidpred.training.fit import train_predictor


@dataclass
class Stage:
    """One step of a model's training (a single-stage model has one, "train")."""
    name: str
    run: Callable  # (experiment config, run folder, resume: bool) -> None


def stages_for(cfg: ExperimentConfig) -> list[Stage]:
    pipeline = model_spec(cfg.model.name).build.pipeline_for(cfg.model)
    if pipeline is None:
        return [Stage("train", train_predictor)]
    stages = [Stage(pipeline.tokenizer, _train_tokenizer), Stage("codes", _encode_codes)]
    stages += [Stage(name, functools.partial(_train_prior, name=name)) for name in pipeline.priors]
    return stages + ([Stage("joint", _train_joint)] if pipeline.joint else [])


def stage_config(cfg: ExperimentConfig, name: str, **defaults) -> ExperimentConfig:
    """The experiment as stage ``name`` runs it: its ``stages`` settings over ``defaults`` over the experiment's."""
    settings = cfg.stages.get(name, StageSettings())
    trainer = {**defaults, **{k: getattr(settings, k) for k in ("batch_size", "max_steps", "max_minutes",
                                                                "checkpoint_every", "sample_every", "precision")
                              if getattr(settings, k) is not None}}
    optim = {k: getattr(settings, k) for k in ("lr", "scheduler") if getattr(settings, k) is not None}
    return dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, **trainer),
                               optim=dataclasses.replace(cfg.optim, **optim))


def _pipeline(cfg: ExperimentConfig, folder: Path):
    """The model as the finished stages left it in ``folder`` (fresh weights, seeded, before the first stage)."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model)
    if (folder / WEIGHTS_FILE).is_file():
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    return model


def _publish(model, cfg: ExperimentConfig, folder: Path, stage: str) -> None:
    model.stages_trained.fill_(model.pipeline.stage_names.index(stage) + 1)
    save_model(model, folder, config=run_config(cfg, folder))


def _train_tokenizer(cfg: ExperimentConfig, folder: Path, resume: bool) -> None:
    model = _pipeline(cfg, folder)
    name = model.pipeline.tokenizer
    train_predictor(stage_config(cfg, name), folder / name, resume, model=getattr(model, name), publish=False)
    check_reconstruction(getattr(model, name), cfg)
    _publish(model, cfg, folder, name)


HELD_OUT_CLIPS = 32


@torch.no_grad()
def check_reconstruction(tokenizer: nn.Module, cfg: ExperimentConfig) -> dict[str, float]:
    """Print the tokenizer's reconstruction SSIM on the first held-out (test) clips beside a black frame's, and
    warn in one line when it is not above the black frame's: a prior trained on such codes cannot predict better
    than blank. Returns both values."""
    from vidpred.eval.metrics import ssim

    dataset = build_dataset(cfg.data, "test")
    count = min(HELD_OUT_CLIPS, len(dataset))
    if not count:
        return {}
    device = next(tokenizer.parameters()).device
    clips = torch.stack([dataset[i][:tokenizer.num_frames] for i in range(count)]).to(device)  # as it trains
    with evaluating(tokenizer):
        reconstructed = tokenizer.reconstruct(clips).float().clamp(0, 1)
    scores = {"tokenizer": ssim(reconstructed, clips).mean().item(),
              "black frame": ssim(torch.zeros_like(clips), clips).mean().item()}
    print(f"vidpred: the tokenizer reconstructs {count} held-out clips at SSIM {scores['tokenizer']:.3f} "
          f"(a black frame: {scores['black frame']:.3f})", file=sys.stderr)
    if scores["tokenizer"] <= scores["black frame"]:
        print("vidpred: warning: the tokenizer reconstructs held-out clips no better than a black frame, so no prior "
              "trained on its codes can predict better: train it longer (stages.tokenizer.max_minutes) before the "
              "priors", file=sys.stderr)
    return scores


def _encode_codes(cfg: ExperimentConfig, folder: Path, resume: bool) -> None:
    model = _pipeline(cfg, folder)
    tokenizer = getattr(model, model.pipeline.tokenizer)
    settings = cfg.stages.get("codes", StageSettings())
    device = "cuda" if cfg.trainer.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available() else "cpu"
    for split, count in (("train", settings.train_clips), ("test", settings.test_clips)):
        encode_dataset(tokenizer, build_dataset(cfg.data, split), folder / "codes", split, count=count,
                       device=device, context_frames=cfg.model.context_frames)
    _publish(model, cfg, folder, "codes")


@torch.no_grad()
def code_nll(prior, dataset, batch_size: int = 32) -> float:
    """Mean negative log-likelihood in nats per code of ``prior`` on a code data set (teacher forced)."""
    prior = prior.eval()
    device = next(prior.parameters()).device
    total, count = 0.0, 0
    for batch in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
        logits, target = prior.logits({k: v.to(device) for k, v in batch.items()})
        total += F.cross_entropy(logits.float(), target, reduction="sum").item()
        count += target.numel()
    return total / count


def _train_prior(cfg: ExperimentConfig, folder: Path, resume: bool, name: str) -> None:
    model = _pipeline(cfg, folder)
    tokenizer = getattr(model, model.pipeline.tokenizer)
    datasets = {split: CodeDataset(folder / "codes", split, tokenizer, cfg.model.context_frames)
                for split in ("train", "test")}
    prior = getattr(model, name)
    # priors train on code arrays: no clip sample grids, no validation on clips
    train_predictor(stage_config(cfg, name, sample_every=0, val_every=0), folder / name, resume, model=prior,
                    publish=False, datasets=datasets)
    nll = code_nll(prior, datasets["test"])
    result = {"test_nats_per_dim": nll, "test_bits_per_dim": nll / math.log(2), "test_clips": len(datasets["test"])}
    atomic_write_text(folder / name / "test_nll.json", json.dumps(result, indent=2))
    print(f"vidpred: {name} test NLL {nll:.4f} nats/dim on {result['test_clips']} clips", file=sys.stderr)
    _publish(model, cfg, folder, name)


class _MethodLoss(nn.Module):
    """A model trained through one of its methods: ``loss(batch)`` is ``model.<method>(batch)``."""

    def __init__(self, model: nn.Module, method: str):
        super().__init__()
        self.model, self.method = model, method

    def loss(self, batch):
        return getattr(self.model, self.method)(batch)


def _train_joint(cfg: ExperimentConfig, folder: Path, resume: bool) -> None:
    model = _pipeline(cfg, folder)
    part = _MethodLoss(model, model.pipeline.joint)
    train_predictor(stage_config(cfg, "joint", sample_every=0), folder / "joint", resume, model=part, publish=False)
    _publish(model, cfg, folder, "joint")
