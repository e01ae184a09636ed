"""What ``vidpred models`` lists: every registered model with its presets (parameter counts) and the pretrained
folders with the metrics recorded beside them.

Parameter counts come from building each preset on PyTorch's "meta" device: shapes without memory or time, so
the billion-parameter paper presets are counted as cheaply as the small ones. A pretrained folder is any folder
of ``pretrained/`` holding a saved model (``config.yaml`` + ``model.safetensors``); its ``metrics.json``, when
present, maps protocol names to headline metrics (written with the evaluation that measured them).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml

from vidpred.models.io import CONFIG_FILE, PRETRAINED_DIR, WEIGHTS_FILE, build_model
from vidpred.models.presets import PRESETS
from vidpred.registry import model_names, model_spec

METRICS_FILE = "metrics.json"


def parameter_count(cfg) -> int:
    with torch.device("meta"):
        model = build_model(cfg)
    return sum(p.numel() for p in model.parameters())


def catalogue(pretrained_dir: Path = PRETRAINED_DIR) -> dict:
    presets: dict[str, list] = {}
    for name, make in sorted(PRESETS.items()):
        cfg = make()
        presets.setdefault(cfg.name, []).append({"name": name, "parameters": parameter_count(cfg)})
    models = [{"name": name, "description": model_spec(name).description, "training": model_spec(name).training
               + (" in stages" if model_spec(name).build.pipeline_for(model_spec(name).config_cls(name=name)) else ""),
               "presets": presets.get(name, [])} for name in model_names()]
    pretrained = []
    for folder in sorted(pretrained_dir.glob("*")) if pretrained_dir.is_dir() else []:
        if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
            continue
        section = yaml.safe_load((folder / CONFIG_FILE).read_text())["model"]
        metrics = json.loads((folder / METRICS_FILE).read_text()) if (folder / METRICS_FILE).is_file() else {}
        megabytes = sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6
        pretrained.append({"path": str(folder), "model": section["name"], "megabytes": round(megabytes, 1),
                           "metrics": metrics})
    return {"models": models, "pretrained": pretrained}

