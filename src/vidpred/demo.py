"""The main job of ``make demo``: the pretrained models predict Moving MNIST, side by side.

It loads the committed pipelines in ``pretrained/`` -- S-HR-VQVAE (``mmnist_s_hr_vqvae``, arg-max decoding: one
deterministic prediction per clip) and the Video VQ-VAE (``mmnist_video_vqvae``, sampled) -- both trained on a
2-core CPU (docs/RESULTS.md), takes the first ``sequences`` clips of the fixed Moving MNIST test set (never seen
in training) under the mmnist-10-10 protocol (10 context frames, 10 to predict), lets each model predict
``samples`` samples per clip, and scores them beside the copy-last and blank baselines on the same clips. It
writes to ``out``:

- ``predictions.gif`` / ``.png``: per clip a ground-truth row, then each model's rows (green context, blue
  ground truth, red prediction; one row for a deterministic model, one per sample otherwise);
- ``report.html``: every model and both baselines in one table (best-of-N metrics with 95% intervals) and
  per-frame curves; one folder per model and baseline holds its own report, metrics.json and per_frame.csv;
- ``summary.md`` / ``summary.json``: the numbers and the time taken.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from vidpred.config import ConfigError, atomic_write_text

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "pretrained"
PRETRAINED = (PRETRAINED_DIR / "mmnist_s_hr_vqvae", PRETRAINED_DIR / "mmnist_video_vqvae")


def _prediction_grid(models: dict, dataset, count: int, samples: int, context: int, horizon: int, seed: int,
                     path: Path) -> None:
    from vidpred.io.grid import GridRow, write_grid

    clips = torch.stack([dataset[i] for i in range(count)])
    predicted = {label: (model.predict(clips[:, :context], horizon, samples,
                                       generator=torch.Generator().manual_seed(seed)),
                         samples if model.stochastic else 1) for label, model in models.items()}
    rows = []
    for i in range(count):
        rows.append(GridRow(clips[i, :context + horizon], f"{dataset.clip_id(i)} truth", num_context=context))
        for label, (video, shown) in predicted.items():
            rows += [GridRow(torch.cat([clips[i, :context], video[i, s]]),
                             label if shown == 1 else f"{label} {s + 1}", num_context=context, predicted=True)
                     for s in range(shown)]
    write_grid(path.with_suffix(".gif"), rows, fps=4.0)
    write_grid(path.with_suffix(".png"), rows)


def run_demo(out: Path, model_dirs=PRETRAINED, sequences: int = 16, samples: int = 3, num_test: int = 10000) -> dict:
    from vidpred.data import build_dataset, data_config
    from vidpred.eval.protocol import EvalSettings, evaluate, get_protocol
    from vidpred.eval.report import compare, load_results, write_results
    from vidpred.models.io import build_model, load_model

    model_dirs = [Path(d) for d in model_dirs]
    for folder in model_dirs:
        if not (folder / "model.safetensors").is_file():
            raise ConfigError(f"no trained pipeline in {folder}; train one with `vidpred train "
                              "configs/mmnist/s_hr_vqvae.yaml` and pass its run folder with --model")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    protocol = get_protocol("mmnist-10-10")
    models = {}
    for folder in model_dirs:
        model = load_model(folder)
        label = model.config.name if model.config.name not in models else folder.name
        models[label] = model
    settings = EvalSettings(num_samples=samples, max_sequences=sequences, batch_size=sequences, seed=0,
                            data_overrides={"num_test": num_test})
    print(f"vidpred demo: {', '.join(models)} predict {sequences} Moving MNIST test clips, {samples} samples each")
    folders = {}
    for label, predictor in (*models.items(), ("copy_last", build_model("copy_last")),
                             ("blank", build_model("blank"))):
        write_results(evaluate(predictor, protocol, settings, model_label=label), out / label)
        folders[label] = out / label
    compare(list(folders.values()), out)

    dataset = build_dataset(data_config("moving_mnist", num_test=num_test), "test")
    _prediction_grid(models, dataset, min(4, sequences), samples, protocol.context, protocol.horizon, 1,
                     out / "predictions")
    results = {label: load_results(folder) for label, folder in folders.items()}
    first = results[next(iter(models))]
    summary = {"models": {label: str(folder) for label, folder in zip(models, model_dirs)},
               "protocol": protocol.name, "sequences": sequences, "samples": samples,
               "deterministic": [label for label, model in models.items() if not model.stochastic],
               "metrics": {label: {m: {"best": r["metrics"][m]["best"]["mean"], "ci95": r["metrics"][m]["best"]["ci95"]}
                                   for m in r["metrics"]} for label, r in results.items()},
               "seconds_total": round(time.perf_counter() - started, 1)}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    decoding = "; ".join(f"{label}: {'arg-max, one prediction per clip' if not m.stochastic else f'{samples} samples'}"
                         for label, m in models.items())
    lines = ["# vidpred demo", "",
             f"The pretrained models predicted the first {sequences} clips of the fixed Moving MNIST test set "
             f"({protocol.name}: {protocol.context} context frames, {protocol.horizon} predicted; {decoding}), "
             "scored best-of-N per clip beside the copy-last and blank (black frames) baselines -- a model "
             "predicts only when it beats both:", "",
             "| model | " + " | ".join(first["metrics"]) + " |",
             "|---|" + "---|" * len(first["metrics"])]
    for label, entry in summary["metrics"].items():
        lines.append(f"| {label} | " + " | ".join(f"{v['best']:.4g} ± {v['ci95']:.2g}" for v in entry.values()) + " |")
    lines += ["", "Files: `predictions.gif` (per clip: ground truth, then each model's predictions), `report.html` "
              "(comparison), and each model's and baseline's own folder: "
              + ", ".join(f"`{label}/report.html`" for label in folders) + ".", "",
              f"Total time: {summary['seconds_total']} s."]
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {out}/: " + ", ".join(sorted(p.name for p in out.iterdir())))
    return summary
