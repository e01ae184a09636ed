"""Writing an evaluation for people: metrics.json, per_frame.csv, curves, sample grids and report.html;
and comparing several evaluations of one protocol in one table with overlaid curves.

``report.html`` opens from disk: images up to ``EMBED_LIMIT`` bytes are embedded (base64), larger ones (the
animated sample grids of many clips) are shown from the file beside it, so a report stays under a few MB; keep
the folder together. The evaluation's example clips are kept in ``examples.npz`` (uint8 frames, no pickles), so a
comparison can show every model's predictions for the same clips side by side.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidpred.config import ConfigError, atomic_write_text

# plots use the non-interactive backend: no display on servers
METRIC_LABELS = {"mse": "MSE (sum over pixels) ↓", "mae": "MAE (sum over pixels) ↓", "psnr": "PSNR (dB) ↑",
                 "ssim": "SSIM (Gaussian 11) ↑", "ssim_svg_release": "SSIM (SVG release: uniform 7, range 2) ↑",
                 "ssim_uniform7": "SSIM (PredRNN: uniform 7) ↑",
                 "lpips": "LPIPS ↓"}


def _json_safe(value):
    """JSON has no inf/NaN: write them as the strings "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _fmt(mean, half=None) -> str:
    mean = float(mean)
    digits = 2 if abs(mean) >= 10 else 4
    text = f"{mean:.{digits}f}"
    if half is not None and math.isfinite(float(half)):
        text += f" ± {float(half):.{digits}f}"
    return text


def _plot_curves(series: list[tuple[str, dict]], metric: str, start_frame: int, path: Path, horizon: int) -> None:
    """One PNG: per-frame mean with its 95% band, for each (label, aggregate entry)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    for label, entry in series:
        mean = np.array([float(v) for v in entry["per_frame"]])
        half = np.array([float(v) for v in entry["per_frame_ci95"]])
        steps = np.arange(start_frame + 1, start_frame + 1 + len(mean))
        ax.plot(steps, mean, marker="o", markersize=3, label=label)
        if np.isfinite(half).any():
            ax.fill_between(steps, mean - half, mean + half, alpha=0.2)
    if len(series[0][1]["per_frame"]) > horizon:  # trained horizon marker, as SVG's figures draw it
        ax.axvline(start_frame + horizon + 0.5, color="grey", linestyle="--", linewidth=1)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("frame")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


EXAMPLES_FILE = "examples.npz"
EMBED_LIMIT = 400_000  # bytes; a larger image is shown from its file, not embedded
GRID_NAMES = ("samples", "samples_best", "samples_random")


def _uint8(frames) -> np.ndarray:
    return (np.asarray(frames, dtype=np.float32) * 255).round().clip(0, 255).astype(np.uint8)


def _save_examples(examples: list[dict], path: Path) -> None:
    """The example clips as arrays: ids, context, target, best and random sample (uint8 ``(N, T, C, H, W)``)."""
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.npz")
    np.savez_compressed(tmp, ids=np.array([str(ex["id"]) for ex in examples]),
                        **{key: np.stack([_uint8(ex[key]) for ex in examples])
                           for key in ("context", "target", "best", "random")})
    os.replace(tmp, path)


def load_examples(folder: str | Path) -> dict[str, np.ndarray] | None:
    """``examples.npz`` of an evaluation folder (None for one written before it existed); never unpickles."""
    path = Path(folder) / EXAMPLES_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _example_grids(examples: list[dict], context: int, out: Path, samples: int) -> list[str]:
    """Truth and prediction rows of the example sequences: the best and a random sample when there are several,
    else the one (deterministic) prediction, in ``samples.gif`` / ``.png``."""
    from vidpred.io.grid import GridRow, write_grids

    for name in GRID_NAMES:  # an earlier evaluation into this folder may have written the other kind
        for suffix in (".gif", ".png"):
            (out / f"{name}{suffix}").unlink(missing_ok=True)
    if not examples:
        return []
    _save_examples(examples, out / EXAMPLES_FILE)
    kinds = [("best", "best sample", "samples_best"), ("random", "random sample", "samples_random")] \
        if samples > 1 else [("best", "prediction", "samples")]
    written = []
    for kind, label, name in kinds:
        rows = []
        for ex in examples:
            truth = np.concatenate([ex["context"].numpy(), ex["target"].numpy()])
            rows.append(GridRow(truth, f"{ex['id']} truth", context))
            rows.append(GridRow(np.concatenate([ex["context"].numpy(), ex[kind].numpy()]),
                                label, context, predicted=True))
        written += write_grids(out / name, rows)
    return written


def write_per_frame_csv(results: dict, path: Path) -> None:
    start = results["protocol"]["context"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["metric", "aggregate", "frame", "mean", "ci95"])
    for metric, entry in results["metrics"].items():
        for aggregate in ("best", "mean"):
            values = entry[aggregate]
            for t, (mean, half) in enumerate(zip(values["per_frame"], values["per_frame_ci95"])):
                writer.writerow([metric, aggregate, start + t + 1, mean, half])
    atomic_write_text(path, buffer.getvalue())


def _relative(path: Path, page: Path) -> str:
    """``path`` as a link from the page written at ``page`` (HTML-escaped, forward slashes)."""
    return html.escape(Path(os.path.relpath(path, page.parent)).as_posix())


def _image(path: Path, page: Path) -> str:
    """An ``<img>`` of ``path`` for the page written at ``page``: embedded up to ``EMBED_LIMIT`` bytes, else
    referenced by its path relative to the page (a click opens it alone)."""
    if path.stat().st_size <= EMBED_LIMIT:
        mime = "image/gif" if path.suffix == ".gif" else "image/png"
        return f"<img src='data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}' alt='{path.name}'>"
    href = _relative(path, page)
    return f"<a href='{href}'><img src='{href}' alt='{path.name}'></a>"


def _summary_rows(results: dict) -> list[list[str]]:
    rows = []
    for metric, entry in results["metrics"].items():
        row = [METRIC_LABELS.get(metric, metric)]
        for aggregate in ("best", "mean"):
            row.append(_fmt(entry[aggregate]["mean"], entry[aggregate]["ci95"]))
        long_key = next((k for k in entry["best"] if k.startswith("mean_")), None)
        row.append(_fmt(entry["best"][long_key]) if long_key else "")
        rows.append(row)
    return rows


def _grid_figure(png: Path, page: Path) -> str:
    """A sample grid: the still grid (embedded when small) and a link to its animation beside it."""
    gif = png.with_suffix(".gif")
    return (f"<h3>{png.stem}</h3>{_image(png, page)}<p><a href='{_relative(gif, page)}'>{gif.name}</a>: the same, "
            "animated.</p>")


@dataclass
class Link:
    """A table cell that links to another page (``href``: already a relative, escaped link)."""
    text: str
    href: str

    def __str__(self) -> str:
        return self.text


def _cell(value) -> str:
    if isinstance(value, Link):
        return f"<a href='{value.href}'>{html.escape(value.text)}</a>"
    return html.escape(value)


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
         "th:first-child,td:first-child{text-align:left}img{max-width:100%;margin:.5em 0}"
         ".unavailable{color:#a33}code{background:#f4f4f4;padding:1px 4px}.plots img{width:49%}")


def write_results(evaluation: dict, out: str | Path) -> Path:
    """Write one evaluation (``evaluate``'s return value) into folder ``out``; returns report.html's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = evaluation["results"]
    protocol = results["protocol"]
    atomic_write_text(out / "metrics.json", json.dumps(_json_safe(results), indent=2))
    write_per_frame_csv(results, out / "per_frame.csv")
    plots = []
    for metric, entry in results["metrics"].items():
        series = [(f"best of {results['n_samples']}", entry["best"])]
        if results["n_samples"] > 1:
            series.append((f"mean of {results['n_samples']}", entry["mean"]))
        name = f"curve_{metric}.png"
        _plot_curves(series, metric, protocol["context"], out / name, protocol["horizon"])
        plots.append(name)
    grids = _example_grids(evaluation["examples"], protocol["context"], out, results["n_samples"])

    parts = [f"<h1>{html.escape(results['model'])} on {html.escape(protocol['name'])}</h1>",
             f"<p>{html.escape(protocol['source'])}. Data: <code>{html.escape(protocol['data']['name'])}</code> "
             "test split, "
             f"{results['n_sequences']} sequences; context {protocol['context']} frames, horizon {protocol['horizon']}"
             + (f" (curves to {protocol['eval_horizon']})" if protocol.get("eval_horizon") else "")
             + f"; {results['n_samples']} sample(s) per sequence; seed {results['seed']}. "
             f"Headline SSIM convention: <code>{protocol['headline_ssim']}</code>. "
             f"Evaluated {html.escape(results['date'])} in {results['seconds']} s.</p>"]
    if results.get("stopped"):
        parts.append(f"<p class='unavailable'>Not the whole test split: {html.escape(results['stopped'])}.</p>")
    # a deterministic model has one sample: best and mean of 1 are the same number, shown once
    single = results["n_samples"] == 1
    header = ["metric"] + (["value (95% CI)"] if single else
                           [f"best of {results['n_samples']} (95% CI)", f"mean of {results['n_samples']} (95% CI)"])
    summary = _summary_rows(results)  # [metric, best, mean, best over the longer horizon or ""]
    rows = [[r[0], r[1]] + ([] if single else [r[2]]) for r in summary]
    if protocol.get("eval_horizon"):
        header.append(f"{'value' if single else 'best'}, frames 1-{protocol['eval_horizon']}")
        rows = [row + [full[3]] for row, full in zip(rows, summary)]
    parts.append(_table(header, rows))
    if results.get("fvd") is not None:
        line = f"FVD: {_fmt(results['fvd'])}"
        if results.get("fvd_star") is not None:
            line += f"; FVD* (against reconstructions): {_fmt(results['fvd_star'])}"
        settings = html.escape(json.dumps(results["fvd_settings"]))
        parts.append(f"<p>{html.escape(line)} — settings: <code>{settings}</code></p>")
    if results["diversity"]:
        parts.append("<p>Diversity (mean pairwise distance between samples): " + ", ".join(
            f"{k} {_fmt(v['mean'], v['ci95'])}" for k, v in results["diversity"].items()) + "</p>")
    for metric, entry in results["metrics"].items():
        if entry.get("frames_capped"):
            parts.append(f"<p>{html.escape(metric)}: {entry['frames_capped']} frame(s) had zero error and are "
                         f"averaged at the cap of {entry['cap']:g}.</p>")
    for metric, why in results["unavailable"].items():
        parts.append(f"<p class='unavailable'>{html.escape(metric)}: {html.escape(why)}</p>")
    parts.append("<h2>Per-frame curves</h2><div class='plots'>")
    page = out / "report.html"
    parts += [_image(out / p, page) for p in plots]
    parts.append("</div>")
    if grids:
        parts.append("<h2>Samples</h2><p>Green: context; blue: ground truth; red: prediction. "
                     + ("Best = best sample by the headline SSIM; random = a sample drawn at random.</p>"
                        if results["n_samples"] > 1 else "One prediction per sequence (a deterministic model).</p>"))
        parts += [_grid_figure(out / g, page) for g in grids if g.endswith(".png")]
    files = plots + grids + ([EXAMPLES_FILE] if grids else [])
    parts.append("<p>Files: metrics.json, per_frame.csv, " + ", ".join(files) + ".</p>")
    html_text = f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(protocol['name'])}</title>" \
                f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    atomic_write_text(page, html_text)
    return page


def load_results(folder: str | Path) -> dict:
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        raise ConfigError(f"{folder} holds no metrics.json; make one with `vidpred evaluate ... --out {folder}`")
    try:
        results = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not readable JSON ({err}); it may be damaged: evaluate again") from None
    if not isinstance(results, dict) or not {"model", "protocol", "metrics"} <= set(results):
        raise ConfigError(f"{path} is not an evaluation's metrics.json (no model, protocol and metrics)")
    return results


def earlier_evaluation(folder: Path) -> dict | None:
    """The output record (``io.outputs``) of an evaluation folder written before folders carried one, from its
    ``metrics.json`` (the entries a re-run writes replace theirs; no other is touched). None: no evaluation there."""
    from vidpred.models.io import model_key

    try:
        results = load_results(folder)
        key = {"model": model_key(results["model"]), "protocol": results["protocol"]["name"]}
    except (ConfigError, KeyError, TypeError):
        return None
    about = f"an evaluation of {results['model']} under {key['protocol']}"
    # which entries were the evaluation's is not recorded: only those a re-run writes again are replaced
    return {"command": "evaluate", "key": key, "about": about, "entries": []}


# Every comparison shows these: a model counts as predicting only when it beats both (on Moving MNIST a black
# frame scores SSIM (uniform 7x7) about 0.78 and MSE about 164, better than copy-last on both).
BASELINES = ("blank", "copy_last")
BASELINES_DIR = "baselines"


def with_baselines(folders: list[str | Path]) -> list[Path]:
    """``folders`` plus the baseline evaluations that ``vidpred evaluate`` wrote beside the first one
    (``baselines/<name>``), for the baselines not already among them."""
    folders = [Path(f) for f in folders]
    present = {load_results(f)["model"] for f in folders}
    extra = [folders[0] / BASELINES_DIR / name for name in BASELINES
             if name not in present and (folders[0] / BASELINES_DIR / name / "metrics.json").is_file()]
    return folders + extra


def _not_computed(result: dict, key: str) -> str:
    """The table cell of a number an evaluation could not compute, saying which weights file was missing."""
    short = result.get("unavailable_short", {}).get(key)
    return f"not computed: {short}" if short else "not computed"


def _labels(folders: list[Path], results: list[dict]) -> list[str]:
    """Each evaluation's name in tables and grids: the model (a model folder by its own name, not its whole path),
    with the evaluation's folder where two share a name."""
    models = [Path(r["model"]).name or r["model"] for r in results]
    return [m if models.count(m) == 1 else f"{m} ({f.name})" for f, m in zip(folders, models)]


def _side_by_side(folders: list[Path], results: list[dict], labels: list[str], out: Path) -> list[str]:
    """``samples.gif`` / ``.png``: for each example clip every evaluation holds (the same frames, not just the
    same id), the ground truth, then each model's best sample. Returns the files written."""
    from vidpred.io.grid import GridRow, write_grids

    for suffix in (".gif", ".png"):  # an earlier comparison's
        (out / f"samples{suffix}").unlink(missing_ok=True)
    examples = [load_examples(f) for f in folders]
    if any(e is None for e in examples):
        return []
    context = results[0]["protocol"]["context"]
    rows = []
    for i, clip_id in enumerate(examples[0]["ids"]):
        truth = np.concatenate([examples[0]["context"][i], examples[0]["target"][i]])
        found = [np.flatnonzero(e["ids"] == clip_id) for e in examples]
        if any(len(j) == 0 or not np.array_equal(e["context"][j[0]], examples[0]["context"][i])
               for e, j in zip(examples, found)):
            continue
        rows.append(GridRow(truth, f"{clip_id} truth", context))
        for label, result, e, j in zip(labels, results, examples, found):
            shown = label if result["n_samples"] == 1 else f"{label} (best of {result['n_samples']})"
            rows.append(GridRow(np.concatenate([e["context"][j[0]], e["best"][j[0]]]), shown, context,
                                predicted=True))
    if not rows:
        return []
    return write_grids(out / "samples", rows)


def compare(folders: list[str | Path], out: str | Path) -> Path:
    """One table (each model linked to its own report), overlaid best-of-N curves and every model's predictions
    of the same clips side by side, for several evaluations of the same protocol, with the blank and copy-last
    baselines evaluated beside the first one (``with_baselines``)."""
    if not folders:
        raise ConfigError("report needs at least one evaluation folder")
    folders = with_baselines(folders)
    results = [load_results(f) for f in folders]
    names = {r["protocol"]["name"] for r in results}
    if len(names) > 1:
        raise ConfigError(f"these evaluations use different protocols ({', '.join(sorted(names))}); "
                          "numbers from different protocols are not comparable")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "report.html"
    protocol = results[0]["protocol"]
    labels = _labels(folders, results)
    metrics = list(dict.fromkeys(m for r in results for m in [*r["metrics"], *r.get("unavailable", {})]
                                 if m != "fvd"))
    with_fvd = any(r["protocol"].get("fvd") for r in results)
    header = ["model", "samples", "sequences"] + [f"{METRIC_LABELS.get(m, m)} (best)" for m in metrics] \
        + (["FVD"] if with_fvd else [])
    rows = []
    for folder, label, r in zip(folders, labels, results):
        own = folder / "report.html"
        name = Link(label, _relative(own, page)) if own.is_file() else label
        cells = [_fmt(r["metrics"][m]["best"]["mean"], r["metrics"][m]["best"]["ci95"]) if m in r["metrics"]
                 else _not_computed(r, m) for m in metrics]
        if with_fvd:
            cells.append(_fmt(r["fvd"]) if r.get("fvd") is not None else _not_computed(r, "fvd"))
        rows.append([name, str(r["n_samples"]), str(r["n_sequences"])] + cells)
    plots = []
    for metric in metrics:
        series = [(label, r["metrics"][metric]["best"]) for label, r in zip(labels, results) if metric in r["metrics"]]
        if series:
            name = f"compare_{metric}.png"
            _plot_curves(series, metric, protocol["context"], out / name, protocol["horizon"])
            plots.append(name)
    grids = _side_by_side(folders, results, labels, out)
    reasons = sorted({why for r in results for why in r.get("unavailable", {}).values()})
    parts = [f"<h1>{html.escape(protocol['name'])}: comparison</h1><p>{html.escape(protocol['source'])}. "
             "Each model's name links to its own report. A model predicts only when it beats both baselines "
             "(blank: black frames; copy_last: the last context frame repeated).</p>", _table(header, rows)]
    parts += [f"<p class='unavailable'>{html.escape(why)}</p>" for why in reasons]
    parts.append("<div class='plots'>" + "".join(_image(out / p, page) for p in plots) + "</div>")
    if grids:
        parts.append("<h2>The same clips, side by side</h2><p>Per clip: the ground truth, then each model's "
                     "prediction (its best sample by the headline SSIM). Green: context; blue: ground truth; "
                     f"red: prediction.</p>{_grid_figure(out / 'samples.png', page)}")
    atomic_write_text(page, f"<!doctype html><html><head><meta charset='utf-8'><title>compare "
                            f"{html.escape(protocol['name'])}</title><style>{STYLE}</style></head><body>"
                            + "".join(parts) + "</body></html>")
    atomic_write_text(out / "comparison.json", json.dumps({"protocol": protocol["name"], "header": header,
                                                           "rows": [[str(c) for c in row] for row in rows],
                                                           # relative to the report, which stays true
                                                           # when the folders move together
                                                           "folders": [Path(os.path.relpath(f, out)).as_posix()
                                                                       for f in folders]}, indent=2))
    return page
