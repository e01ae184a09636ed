"""What ``vidpred models`` lists: every registered model with its presets (parameter counts) and the pretrained
folders with the metrics recorded beside them.

Parameter counts come from building each preset on PyTorch's "meta" device: shapes without memory or time, so
the billion-parameter paper presets are counted as cheaply as the small ones. A pretrained folder is any folder
of ``pretrained/`` holding a saved model (``config.yaml`` + ``model.safetensors``); its ``metrics.json``, when
present, maps protocol names to headline metrics (written with the evaluation that measured them), with the
``baselines`` blank and copy-last scored by the same command on the same sequences.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml

from vidpred.models.io import CONFIG_FILE, PRETRAINED_DIR, WEIGHTS_FILE, build_model
from vidpred.models.presets import PRESETS
from vidpred.models.registry import model_names, model_spec

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
    return {"models": models, "pretrained": pretrained_folders(pretrained_dir)}


def pretrained_folders(pretrained_dir: Path = PRETRAINED_DIR) -> list[dict]:
    """The saved models in ``pretrained_dir``: path, model name, size and recorded metrics of each."""
    pretrained = []
    for folder in sorted(pretrained_dir.glob("*")) if pretrained_dir.is_dir() else []:
        if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
            continue
        section = yaml.safe_load((folder / CONFIG_FILE).read_text())["model"]
        metrics = json.loads((folder / METRICS_FILE).read_text()) if (folder / METRICS_FILE).is_file() else {}
        megabytes = sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6
        pretrained.append({"path": str(folder), "model": section["name"], "megabytes": round(megabytes, 1),
                           "metrics": metrics})
    return pretrained


# the headline metrics a metrics.json may hold: label, and whether higher is better
HEADLINE = {"mse": ("MSE ↓", False, ".1f"), "ssim": ("SSIM ↑", True, ".4f"),
            "ssim_uniform7": ("SSIM, uniform 7x7 ↑", True, ".4f"), "psnr": ("PSNR (dB) ↑", True, ".2f")}
BASELINES = ("blank", "copy_last")


def beats_baselines(entry: dict) -> bool | None:
    """Whether a recorded evaluation beats every baseline recorded beside it on every headline metric (None when
    no baseline was recorded): the project's test of whether a model predicts at all."""
    baselines = entry.get("baselines") or {}
    if not baselines:
        return None
    return all((entry[k] > b[k]) if higher else (entry[k] < b[k])
               for b in baselines.values() for k, (_, higher, _) in HEADLINE.items() if k in entry and k in b)


def results_markdown(pretrained: list[dict]) -> str:
    """One Markdown table per protocol of the pretrained folders' recorded metrics (``pretrained_folders()``),
    each model followed by the baselines scored on its sequences (rows "· blank", "· copy_last")."""
    by_protocol: dict[str, list] = {}
    for folder in pretrained:
        for protocol, entry in folder["metrics"].items():
            by_protocol.setdefault(protocol, []).append((Path(folder["path"]).name, entry))
    lines = []
    for protocol, rows in sorted(by_protocol.items()):
        keys = [k for k in HEADLINE if any(k in entry for _, entry in rows)]
        header = " | ".join(HEADLINE[k][0] for k in keys)
        lines += [f"**{protocol}**", "", f"| model | sequences x samples (best of) | {header} | beats blank and "
                  "copy-last |", "|---|---|" + "---|" * len(keys) + "---|"]
        for name, entry in rows:
            verdict = {True: "**yes**", False: "no", None: "not measured"}[beats_baselines(entry)]
            lines.append(f"| `{name}` | {entry['sequences']:,} x {entry['samples']} | "
                         + " | ".join(_cell(entry, k) for k in keys) + f" | {verdict} |")
            for baseline in BASELINES:
                if baseline in entry.get("baselines", {}):
                    scores = entry["baselines"][baseline]
                    lines.append(f"| · {baseline} | {entry['sequences']:,} x 1 | "
                                 + " | ".join(_cell(scores, k) for k in keys) + " | |")
        lines.append("")
    return "\n".join(lines)


def _cell(scores: dict, key: str) -> str:
    return format(scores[key], HEADLINE[key][2]) if key in scores else ""
