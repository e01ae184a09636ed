"""The ELBO of a latent-variable model, in the improved VRNN slides' units, and which latent levels it uses
(``vidpred elbo``).

The slides' tables give the negative ELBO in nats per video on the training and the test set (their "TRAIN/TEST
ELBO"); here both are measured the same way, with the same weights: the model's ``elbo_terms`` on the first N clips
of each split of the run's data set, one posterior draw per level and step (seeded). With a hierarchy of latents,
each level's KL per predicted step says which levels carry information: a level whose KL stays near zero is
unused (the slides: without beta warm-up and dense connections "most of the latents are not used"). The plot shows
that KL per level and step on the test clips and, from the run's training log when there is one, per level over
training.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import torch

from vidpred.config import ConfigError, atomic_write_text
from vidpred.eval.protocol import check_frames
from vidpred.progress import Progress


def elbo_report(model, data_cfg, sequences: int = 256, batch_size: int = 16, seed: int = 0,
                device: str = "cpu") -> dict:
    """The ELBO's terms (nats per video) of ``model`` on the first ``sequences`` clips of both splits of
    ``data_cfg``, with each latent level's KL per predicted step."""
    from vidpred.data import build_dataset

    if not hasattr(model, "elbo_terms"):
        raise ConfigError(f"the model is a {model.config.name} model; the ELBO is measured for latent-variable models "
                          "trained on it (vrnn)")
    check_frames(model, data_cfg, f"data set {data_cfg.name}")
    frames = model.config.clip_frames
    if data_cfg.num_frames < frames:
        raise ConfigError(f"the data give {data_cfg.num_frames}-frame clips; the model's ELBO is over {frames} frames "
                          f"({model.config.num_context} context + {model.config.num_predicted} predicted)")
    model = model.to(device).eval()
    result = {"levels": list(model.levels), "context": model.config.num_context,
              "predicted": model.config.num_predicted, "seed": seed, "splits": {}}
    for split in ("train", "test"):
        dataset = build_dataset(data_cfg, split)
        count = min(sequences, len(dataset))
        nll, kl = [], []
        generator_state = torch.get_rng_state()
        torch.manual_seed(seed)  # the posterior draws
        try:
            with Progress(f"ELBO on {count} {split} clips", count) as progress, torch.no_grad():
                for begin in range(0, count, batch_size):
                    clips = torch.stack([dataset[i][:frames] for i in range(begin, min(count, begin + batch_size))])
                    n, k = model.elbo_terms(clips.to(device))
                    nll.append(n.cpu())
                    kl.append(k.cpu())
                    progress.advance(len(clips))
        finally:
            torch.set_rng_state(generator_state)
        nll_video = torch.cat(nll).sum(1).numpy()  # (N,)
        kl_all = torch.cat(kl).numpy()  # (N, levels, steps)
        elbo = nll_video + kl_all.sum(axis=(1, 2))
        result["splits"][split] = {
            "sequences": count, "elbo": float(elbo.mean()),
            "elbo_ci95": float(1.96 * elbo.std(ddof=1) / np.sqrt(count)) if count > 1 else None,
            "nll": float(nll_video.mean()), "kl": float(kl_all.sum(axis=(1, 2)).mean()),
            "kl_per_level": {str(r): float(kl_all[:, i].sum(axis=1).mean()) for i, r in enumerate(model.levels)},
            "kl_per_level_and_step": {str(r): kl_all[:, i].mean(axis=0).tolist() for i, r in enumerate(model.levels)}}
    return result


def training_kl_curves(run: str | Path, levels) -> dict[str, tuple[list, list]]:
    """{level: (steps, KL)} from a run folder's CSV training log (``train/kl_r<level>``); empty without a log."""
    log = Path(run) / "logs" / "csv" / "metrics.csv"
    if not log.is_file():
        return {}
    curves: dict[str, tuple[list, list]] = {str(r): ([], []) for r in levels}
    with open(log, newline="") as f:
        for row in csv.DictReader(f):
            for r in curves:
                value = row.get(f"train/kl_r{r}")
                if value:
                    curves[r][0].append(int(row["step"]))
                    curves[r][1].append(float(value))
    return {r: c for r, c in curves.items() if c[0]}


def write_elbo(result: dict, curves: dict, out: str | Path) -> list[str]:
    """``elbo.png`` (each level's KL per predicted step on the test clips; over training, from the log),
    ``elbo.csv`` (per level and step) and ``elbo.json`` in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    test, train = result["splits"]["test"], result["splits"]["train"]
    panels = 2 if curves else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.6), dpi=110, squeeze=False)
    ax = axes[0, 0]
    steps = np.arange(result["context"] + 1, result["context"] + result["predicted"] + 1)
    for r, values in test["kl_per_level_and_step"].items():
        ax.plot(steps, values, marker="o", markersize=3, label=f"level {r}x{r}: {test['kl_per_level'][r]:.1f} nats")
    ax.set_xlabel("predicted frame t")
    ax.set_ylabel("KL(q || p) at that frame, nats")
    ax.set_title(f"test clips ({test['sequences']}): which latent levels are used", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    if curves:
        ax = axes[0, 1]
        for r, (x, y) in curves.items():
            ax.plot(x, y, linewidth=1, label=f"level {r}x{r}")
        ax.set_xlabel("training step")
        ax.set_ylabel("KL per video (training batches), nats")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_title("over training (the run's log)", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(f"negative ELBO, nats per video: train {train['elbo']:.1f} / test {test['elbo']:.1f}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "elbo.png")
    plt.close(fig)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["split", "level", "frame", "kl"])
    for split, values in result["splits"].items():
        for r, per_step in values["kl_per_level_and_step"].items():
            for t, v in zip(steps, per_step):
                writer.writerow([split, r, int(t), float(v)])
    atomic_write_text(out / "elbo.csv", buffer.getvalue())
    atomic_write_text(out / "elbo.json", json.dumps({**result, "training_log": {r: {"step": x, "kl": y}
                                                                                 for r, (x, y) in curves.items()}},
                                                    indent=2))
    return ["elbo.png", "elbo.csv", "elbo.json"]
