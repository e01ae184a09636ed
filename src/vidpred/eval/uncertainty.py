"""SVG's Figure 6 as a command (``vidpred uncertainty``): does the learned prior know when the future is uncertain?

On Stochastic Moving MNIST a digit moves deterministically until it reaches a wall, where its next velocity is
drawn at random: the frame after a wall hit is the one moment the future is uncertain. Following §4.2, many test
sequences share one trajectory (``stochastic_moving_mnist.synchronized``: the same motion, different test digits),
the learned prior p_psi(z_t | x_{1:t-1}) is fed their true frames, and its standard deviation (averaged over z's
dimensions) is plotted per frame -- mean and one standard deviation over the sequences -- with the frames after
the true wall hits marked. The paper's finding is that sigma rises there; ``peak_ratio`` (mean sigma on those
frames over the mean elsewhere) says it in a number.
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

DIGIT_COLORS = ("tab:red", "tab:blue")


def prior_uncertainty(model, data_cfg, sequences: int = 500, seed: int = 0, batch_size: int = 50,
                      device: str = "cpu") -> dict:
    """The learned prior's sigma per frame over ``sequences`` synchronized sequences of ``data_cfg``."""
    from vidpred.data.stochastic_moving_mnist import synchronized

    prior = getattr(model.config, "prior", None)
    if prior != "learned" or not hasattr(model, "prior_std"):
        what = f"an SVG model with a {prior} prior" if prior else f"a {model.config.name} model"
        raise ConfigError(f"the model is {what}; only SVG-LP learns a prior whose uncertainty can be plotted")
    check_frames(model, data_cfg, f"data set {data_cfg.name}")
    frames, path = synchronized(data_cfg, sequences, seed)
    model = model.to(device).eval()
    stds = []
    with Progress(f"feeding {sequences} synchronized sequences to the learned prior", sequences) as progress:
        for begin in range(0, sequences, batch_size):
            video = torch.from_numpy(frames[begin:begin + batch_size]).to(device).float().div_(255.0)
            stds.append(model.prior_std(video).cpu().numpy())
            progress.advance(len(video))
    sigma = np.concatenate(stds)  # (sequences, T - 1): sigma of z for frames 2..T
    # a digit at a wall in frame f (1-based) gets a new random velocity: frame f + 1 is the uncertain one
    hits = path.wall_hits  # (T, digits), 0-based frames
    uncertain = {k: [int(f) + 2 for f in np.flatnonzero(hits[:, k]) if f + 1 < len(hits)]
                 for k in range(hits.shape[1])}
    frames_axis = np.arange(2, sigma.shape[1] + 2)
    marked = np.isin(frames_axis, sorted({f for fs in uncertain.values() for f in fs}))
    mean = sigma.mean(axis=0)
    ratio = float(mean[marked].mean() / mean[~marked].mean()) if marked.any() and (~marked).any() else None
    return {"sequences": sequences, "frames": int(len(hits)), "seed": seed, "frame": frames_axis.tolist(),
            "sigma_mean": mean.tolist(), "sigma_std": sigma.std(axis=0).tolist(),
            "frames_after_wall_hits": {f"digit {k + 1}": v for k, v in uncertain.items()},
            "peak_ratio": ratio, "trained_frames": model.config.clip_frames}


def write_uncertainty(result: dict, out: str | Path) -> list[str]:
    """``uncertainty.png`` (the plot), ``uncertainty.csv`` (per frame) and ``uncertainty.json`` in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame, mean, std = (np.array(result[k]) for k in ("frame", "sigma_mean", "sigma_std"))
    fig, ax = plt.subplots(figsize=(10, 3.4), dpi=110)
    for k, (label, hit_frames) in enumerate(result["frames_after_wall_hits"].items()):
        for i, f in enumerate(hit_frames):
            ax.axvline(f, color=DIGIT_COLORS[k % 2], alpha=0.5, linewidth=1.2,
                       label=f"frame after a wall hit, {label}" if i == 0 else None)
    ax.plot(frame, mean, color="black", linewidth=1.2, label="mean sigma of the learned prior")
    ax.fill_between(frame, mean - std, mean + std, color="grey", alpha=0.3, label="± one standard deviation")
    ax.axvspan(frame[0] - 0.5, result["trained_frames"] + 0.5, color="green", alpha=0.06,
               label=f"frames seen in training (1-{result['trained_frames']})")
    ax.set_xlabel("frame t")
    ax.set_ylabel("sigma of p(z_t | x_1:t-1)")
    ratio = result["peak_ratio"]
    ax.set_title(f"{result['sequences']} sequences with one trajectory" +
                 (f"; sigma after wall hits / elsewhere = {ratio:.2f}" if ratio is not None else ""), fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "uncertainty.png")
    plt.close(fig)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    digits = list(result["frames_after_wall_hits"].items())
    writer.writerow(["frame", "sigma_mean", "sigma_std"] + [f"after_wall_hit_{label.replace(' ', '_')}"
                                                            for label, _ in digits])
    for f, m, s in zip(frame, mean, std):
        writer.writerow([int(f), float(m), float(s)] + [int(int(f) in fs) for _, fs in digits])
    atomic_write_text(out / "uncertainty.csv", buffer.getvalue())
    atomic_write_text(out / "uncertainty.json", json.dumps(result, indent=2))
    return ["uncertainty.png", "uncertainty.csv", "uncertainty.json"]
