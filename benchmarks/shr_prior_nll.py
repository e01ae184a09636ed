"""Per tree layer and per predicted frame: the ST-PixelCNN's teacher-forced test NLL (nats per code) and arg-max
accuracy on a trained S-HR-VQVAE run's test codes, beside two code-level baselines (every code copied from the
last context frame; every layer-1 code the most common one, i.e. background).

    .venv/bin/python benchmarks/shr_prior_nll.py RUN_DIR [RUN_DIR ...] [--clips 1000]
        [--out benchmarks/results/shr_prior_nll.json]

RUN_DIR: a finished `vidpred train configs/mmnist/s_hr_vqvae.yaml` run (its codes/ and model.safetensors).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import save_result  # noqa: E402


@torch.no_grad()
def measure(run: Path, clips: int) -> dict:
    from vidpred.models.io import load_model

    model = load_model(run)
    prior = model.prior.eval()
    codes = {level: torch.from_numpy(np.load(run / "codes" / f"test_{level}.npy")[:clips]).long()
             for level in prior.levels}
    ctx = prior.context_frames
    per_layer = {}
    for start in range(0, len(codes[prior.levels[0]]), 50):
        batch = {level: c[start:start + 50] for level, c in codes.items()}
        logits, targets = prior.logits(batch)  # (B, M, n, Tf, h, w), (B, n, Tf, h, w)
        loss = F.cross_entropy(logits.float(), targets, reduction="none")
        right = (logits.argmax(1) == targets).float()
        for i, level in enumerate(prior.levels):
            entry = per_layer.setdefault(level, {"nll": 0.0, "accuracy": 0.0, "nll_per_frame": 0.0,
                                                 "copy_last_accuracy": 0.0})
            entry["nll"] += loss[:, i].sum().item()
            entry["accuracy"] += right[:, i].sum().item()
            entry["nll_per_frame"] = entry["nll_per_frame"] + loss[:, i].sum((0, 2, 3)).numpy()
            last = batch[level][:, ctx - 1:ctx]
            entry["copy_last_accuracy"] += (batch[level][:, ctx:] == last).float().sum().item()
    clips = len(codes[prior.levels[0]])
    count = clips * targets[0, 0].numel()  # codes per layer: clips x predicted frames x h x w
    for entry in per_layer.values():
        entry["nll"] /= count
        entry["accuracy"] /= count
        entry["copy_last_accuracy"] /= count
        entry["nll_per_frame"] = [round(float(v) / (count / len(entry["nll_per_frame"])), 4)
                                  for v in entry["nll_per_frame"]]
    first = codes[prior.levels[0]][:, ctx:]
    background = first.flatten().mode().values
    return {"run": str(run), "clips": clips, "prior": {k: v for k, v in vars(model.config.prior).items()},
            "mean_nll": sum(e["nll"] for e in per_layer.values()) / len(per_layer), "layers": per_layer,
            "layer1_background_accuracy": (first == background).float().mean().item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--out", default="benchmarks/results/shr_prior_nll.json")
    args = parser.parse_args()
    results = []
    for run in args.runs:
        r = measure(Path(run), args.clips)
        results.append(r)
        print(f"{run}: mean {r['mean_nll']:.4f} nats/code; " + "; ".join(
            f"{level} NLL {e['nll']:.4f} acc {e['accuracy']:.3f} (copy-last {e['copy_last_accuracy']:.3f})"
            for level, e in r["layers"].items()) + f"; layer1 all-background acc {r['layer1_background_accuracy']:.3f}")
    save_result(args.out, "shr_prior_nll.py", results=results)


if __name__ == "__main__":
    main()
