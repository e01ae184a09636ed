"""The main job of ``make demo``: the pretrained Video VQ-VAE predicts Moving MNIST.

It loads the committed pipeline ``pretrained/mmnist_video_vqvae`` (tokenizer, top prior and bottom prior,
trained on a 2-core CPU; see docs/RESULTS.md), takes the first ``sequences`` clips of the fixed Moving MNIST
test set (never seen in training) under the mmnist-10-10 protocol (10 context frames, 10 to predict), draws 3
samples per clip, and scores them against the copy-last and blank baselines. It writes to ``out``:

- ``predictions.gif`` / ``.png``: per clip a ground-truth row and one row per sample (green context, blue
  ground truth, red prediction);
- ``report.html``: both models side by side (best-of-N metrics with 95% intervals and per-frame curves);
  ``video_vqvae/``, ``copy_last/`` and ``blank/`` hold each evaluation's own report, metrics.json and
  per_frame.csv;
- ``summary.md`` / ``summary.json``: the numbers and the time taken.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from vidpred.config import ConfigError, atomic_write_text

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained" / "mmnist_video_vqvae"


def _prediction_grid(model, dataset, count: int, samples: int, context: int, horizon: int, seed: int,
                     path: Path) -> None:
    from vidpred.io.grid import GridRow, write_grid

    clips = torch.stack([dataset[i] for i in range(count)])
    predicted = model.predict(clips[:, :context], horizon, samples, generator=torch.Generator().manual_seed(seed))
    rows = []
    for i in range(count):
        truth = clips[i, :context + horizon]
        rows.append(GridRow(truth, f"{dataset.clip_id(i)} truth", num_context=context))
        rows += [GridRow(torch.cat([clips[i, :context], predicted[i, s]]), f"sample {s + 1}", num_context=context,
                         predicted=True) for s in range(samples)]
    write_grid(path.with_suffix(".gif"), rows, fps=4.0)
    write_grid(path.with_suffix(".png"), rows)


def run_demo(out: Path, model_dir: Path = PRETRAINED, sequences: int = 16, samples: int = 3,
             num_test: int = 10000) -> dict:
    from vidpred.data import build_dataset, data_config
    from vidpred.eval.protocol import EvalSettings, evaluate, get_protocol
    from vidpred.eval.report import compare, load_results, write_results
    from vidpred.models.io import build_model, load_model

    if not (model_dir / "model.safetensors").is_file():
        raise ConfigError(f"no pretrained pipeline in {model_dir}; train one with `vidpred train "
                          "configs/mmnist/video_vqvae.yaml` and pass its run folder with --model")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    protocol = get_protocol("mmnist-10-10")
    model = load_model(model_dir)
    settings = EvalSettings(num_samples=samples, max_sequences=sequences, batch_size=sequences, seed=0,
                            data_overrides={"num_test": num_test})
    print(f"vidpred demo: {model_dir.name} predicts {sequences} Moving MNIST test clips, {samples} samples each")
    folders = {}
    for label, predictor in (("video_vqvae", model), ("copy_last", build_model("copy_last")),
                             ("blank", build_model("blank"))):
        write_results(evaluate(predictor, protocol, settings, model_label=label), out / label)
        folders[label] = out / label
    compare(list(folders.values()), out)

    dataset = build_dataset(data_config("moving_mnist", num_test=num_test), "test")
    _prediction_grid(model, dataset, min(4, sequences), samples, protocol.context, protocol.horizon, 1,
                     out / "predictions")
    results = {label: load_results(folder) for label, folder in folders.items()}
    summary = {"model": str(model_dir), "protocol": protocol.name, "sequences": sequences, "samples": samples,
               "metrics": {label: {m: {"best": r["metrics"][m]["best"]["mean"], "ci95": r["metrics"][m]["best"]["ci95"]}
                                   for m in r["metrics"]} for label, r in results.items()},
               "seconds_total": round(time.perf_counter() - started, 1)}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    lines = ["# vidpred demo", "",
             f"The pretrained Video VQ-VAE (`{model_dir.name}`) predicted the first {sequences} clips of the fixed "
             f"Moving MNIST test set ({protocol.name}: {protocol.context} context frames, {protocol.horizon} "
             f"predicted), {samples} samples per clip; best of {samples} per clip against the copy-last and blank (black "
             "frames) baselines -- a model predicts only when it beats both:", "",
             "| model | " + " | ".join(results["video_vqvae"]["metrics"]) + " |",
             "|---|" + "---|" * len(results["video_vqvae"]["metrics"])]
    for label, entry in summary["metrics"].items():
        lines.append(f"| {label} | " + " | ".join(f"{v['best']:.4g} ± {v['ci95']:.2g}" for v in entry.values()) + " |")
    lines += ["", "Files: `predictions.gif` (per clip: ground truth, then each sample), `report.html` (comparison), "
              "`video_vqvae/report.html`, `copy_last/report.html`, `blank/report.html`.", "",
              f"Total time: {summary['seconds_total']} s."]
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {out}/: " + ", ".join(sorted(p.name for p in out.iterdir())))
    return summary
