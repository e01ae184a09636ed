"""The main job of ``make demo``: the pretrained models predict test clips of the data they were trained on, side
by side with the copy-last and blank baselines.

It loads the committed models in ``pretrained/`` -- on Moving MNIST S-HR-VQVAE (``mmnist_s_hr_vqvae``, arg-max
decoding: one deterministic prediction per clip) and the Video VQ-VAE (``mmnist_video_vqvae``, sampled); on
Stochastic Moving MNIST SVG-LP (``smmnist_svg_lp``) and the hierarchical VRNN (``smmnist_vrnn``), each when it is
there -- all trained on a 2-core CPU
(docs/RESULTS.md). Each model goes to the protocol of the data set its config names (Moving MNIST: mmnist-10-10,
10 context frames and 10 to predict; SM-MNIST: smmnist-5-10, 5 and 10), takes the first ``sequences`` clips of that
data set's fixed test set (never seen in training), predicts ``samples`` samples per clip, and is scored beside
copy-last and blank on the same clips. It writes to ``out`` (Moving MNIST) and ``out/smmnist`` (SM-MNIST):

- ``predictions.gif`` / ``.png``: per clip a ground-truth row, then each model's rows (green context, blue
  ground truth, red prediction; one row for a deterministic model, one per sample otherwise);
- ``report.html``: every model and both baselines in one table (best-of-N metrics with 95% intervals), per-frame
  curves and their predictions of the same clips; one folder per model and baseline holds its own report;
- ``summary.md`` / ``summary.json`` (in ``out``): the numbers of every section and the time taken.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from vidpred.config import ConfigError, atomic_write_text
from vidpred.models.io import PRETRAINED_DIR, WEIGHTS_FILE

PRETRAINED = tuple(PRETRAINED_DIR / name for name in ("mmnist_s_hr_vqvae", "mmnist_video_vqvae", "smmnist_svg_lp",
                                                      "smmnist_vrnn")
                   if (PRETRAINED_DIR / name / WEIGHTS_FILE).is_file())
# the protocol a model is shown under, by the data set it was trained on; and where its section is written
SECTIONS = {"moving_mnist": ("mmnist-10-10", "."), "stochastic_moving_mnist": ("smmnist-5-10", "smmnist")}


def _prediction_grid(models: dict, dataset, count: int, samples: int, context: int, horizon: int, seed: int,
                     path: Path) -> None:
    from vidpred.io.grid import GridRow, write_grids

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
    write_grids(path, rows)


def _section(protocol_name: str, models: dict, out: Path, sequences: int, samples: int, num_test: int | None,
             shown_as: Path) -> dict:
    """Evaluate ``models`` and both baselines on the first ``sequences`` clips under one protocol into ``out``
    (``shown_as`` in the summary): each one's folder, the comparison report and the prediction grid. Returns the
    section's summary."""
    from vidpred.data import build_dataset, data_config
    from vidpred.eval.protocol import EvalSettings, evaluate, get_protocol
    from vidpred.eval.report import compare, load_results, write_results
    from vidpred.models.io import build_model

    protocol = get_protocol(protocol_name)
    overrides = {"num_test": num_test} if num_test else {}
    settings = EvalSettings(num_samples=samples, max_sequences=sequences, batch_size=sequences, seed=0,
                            data_overrides=overrides)
    out.mkdir(parents=True, exist_ok=True)
    folders = {}
    for label, predictor in (*models.items(), ("copy_last", build_model("copy_last")), ("blank", build_model("blank"))):
        write_results(evaluate(predictor, protocol, settings, model_label=label), out / label)
        folders[label] = out / label
    compare(list(folders.values()), out)
    data = {k: v for k, v in protocol.data.items() if k != "name"}
    dataset = build_dataset(data_config(protocol.data["name"], **{**data, **overrides}), "test")
    _prediction_grid(models, dataset, min(4, sequences), samples, protocol.context, protocol.horizon, 1,
                     out / "predictions")
    results = {label: load_results(folder) for label, folder in folders.items()}
    return {"protocol": protocol.name, "data": protocol.data["name"], "context": protocol.context,
            "horizon": protocol.horizon, "folder": str(shown_as),
            "deterministic": [label for label, model in models.items() if not model.stochastic],
            "metrics": {label: {m: {"best": r["metrics"][m]["best"]["mean"], "ci95": r["metrics"][m]["best"]["ci95"]}
                                for m in r["metrics"]} for label, r in results.items()}}


def _table(section: dict, samples: int) -> list[str]:
    metrics = next(iter(section["metrics"].values()))
    decoding = ", ".join(
        f"{label}: " + ("one prediction per clip" if label in section["deterministic"] else f"best of {samples}")
        for label in section["metrics"] if label not in ("copy_last", "blank"))
    lines = [f"**{section['protocol']}** ({section['data']}: {section['context']} context frames, "
             f"{section['horizon']} predicted; {decoding}; report: `{section['folder']}/report.html`)", "",
             "| model | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for label, entry in section["metrics"].items():
        lines.append(f"| {label} | " + " | ".join(f"{v['best']:.4g} ± {v['ci95']:.2g}" for v in entry.values()) + " |")
    return lines + [""]


def earlier_demo(folder: Path) -> dict | None:
    """The output record (``io.outputs``) of a demo folder written before folders carried one, from its
    ``summary.json`` (the entries a re-run writes replace theirs; no other is touched). None: no demo there."""
    try:
        summary = json.loads((Path(folder) / "summary.json").read_text())
        models = sorted(str(Path(m).resolve()) for m in summary["models"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    about = "the demo of " + ", ".join(Path(m).name for m in models)
    # which entries were the demo's is not recorded: only those a re-run writes again are replaced
    return {"command": "demo", "key": {"models": models}, "about": about, "entries": []}


def run_demo(out: Path, model_dirs=PRETRAINED, sequences: int = 16, samples: int = 3, num_test: int = 10000,
             shown_as: Path | None = None) -> dict:
    """Every model of ``model_dirs`` under the protocol of its training data (``SECTIONS``), written into ``out``
    (named ``shown_as`` in what it prints: ``out`` may be a temporary folder); returns the summary.
    ``num_test``: the size of the Moving MNIST test set (SM-MNIST keeps its 1,000)."""
    from vidpred.models.io import load_model, training_data

    model_dirs = [Path(d) for d in model_dirs]
    for folder in model_dirs:
        if not (folder / WEIGHTS_FILE).is_file():
            raise ConfigError(f"no trained model in {folder}; train one with `vidpred train "
                              "configs/mmnist/s_hr_vqvae.yaml` and pass its run folder with --model")
    grouped: dict[str, dict] = {}
    trained_on = {}
    for folder in model_dirs:
        trained = trained_on[str(folder)] = (training_data(folder) or {}).get("name")
        if trained not in SECTIONS:
            raise ConfigError(f"{folder} was trained on {trained or 'no named data set'}; the demo shows models of "
                              f"{' and '.join(SECTIONS)}")
        model = load_model(folder)
        models = grouped.setdefault(trained, {})
        models[model.config.name if model.config.name not in models else folder.name] = model
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    sections = {}
    for data_name, models in grouped.items():
        protocol_name, where = SECTIONS[data_name]
        print(f"vidpred demo: {', '.join(models)} predict {sequences} {data_name} test clips ({protocol_name}), "
              f"{samples} samples each")
        sections[protocol_name] = _section(protocol_name, models, out / where, sequences, samples,
                                           num_test if data_name == "moving_mnist" else None,
                                           (shown_as or out) / where)
    summary = {"models": trained_on,
               "sequences": sequences, "samples": samples, "sections": sections,
               "seconds_total": round(time.perf_counter() - started, 1)}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    lines = ["# vidpred demo", "",
             f"The pretrained models predicted the first {sequences} clips of the fixed test set of the data they "
             "were trained on, scored best-of-N per clip beside the copy-last and blank (black frames) baselines "
             "-- a model predicts only when it beats both:", ""]
    for section in sections.values():
        lines += _table(section, samples)
    lines += ["Files per section: `predictions.gif` (per clip: ground truth, then each model's predictions), "
              "`report.html` (the comparison, linking each model's and baseline's own report).", "",
              f"Total time: {summary['seconds_total']} s."]
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {shown_as or out}/: " + ", ".join(sorted(p.name for p in out.iterdir())))
    return summary
