"""``vidpred reconstruct``: how well a tokenizer reconstructs a data set, and what its codes cost.

Works on any tokenizer through its protocol (``models/tokenizer.py``), for any number of levels. Writes into
``out``: ``reconstructions.gif`` / ``.png`` (rows: original | reconstruction | the first (coarsest) level only;
with ``per_layer``, the reconstruction from the first 1, 2, ..., n levels instead: S-HR-VQVAE's Fig. 5),
``code_usage.png`` (histogram of code use per level), ``reconstruction.json`` (PSNR and both SSIMs with 95%
intervals, PSNR from the first level alone and from every prefix of levels, code usage and perplexity per level,
the bit budget and compression ratio).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from vidpred.config import ConfigError, atomic_write_text
from vidpred.eval.metrics import psnr, ssim, ssim_uniform7
from vidpred.eval.protocol import confidence_interval
from vidpred.progress import Progress


def _clips(dataset, count: int) -> list[int]:
    if len(dataset) == 0:
        raise ConfigError("the test split has no clip")
    return list(range(min(count, len(dataset))))


def _usage_plot(counts: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(counts), figsize=(10, 3.2), dpi=110)
    for ax, (level, values) in zip(np.atleast_1d(axes), counts.items()):
        order = np.sort(values)[::-1]
        ax.bar(np.arange(len(order)), order, width=1.0)
        used = int((values > 0).sum())
        ax.set_title(f"{level}: {used}/{len(values)} codes used")
        ax.set_xlabel("codes, most used first")
        ax.set_ylabel("count")
        ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@torch.no_grad()
def reconstruction_report(tokenizer, dataset, out: str | Path, count: int = 256, batch_size: int = 8,
                          device: str = "cpu", per_layer: bool = False) -> dict:
    from vidpred.io.grid import GridRow, write_grids

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames, first = tokenizer.num_frames, tokenizer.levels[0]
    tokenizer = tokenizer.to(device).eval()
    indices = _clips(dataset, count)
    first_only = f"psnr_{first}_only"
    levels = tokenizer.levels
    prefixes = {k: f"psnr_first_{k}_levels" for k in range(1, len(levels) + 1)}
    scores: dict[str, list] = {"psnr": [], "ssim": [], "ssim_uniform7": [], first_only: [],
                               **{name: [] for name in prefixes.values()}}
    counts = {level: np.zeros(k) for level, k in tokenizer.codebook_sizes.items()}
    examples = None
    with Progress(f"reconstructing {len(indices)} clips", len(indices)) as progress:
        for begin in range(0, len(indices), batch_size):
            clips = torch.stack([dataset[i][:frames] for i in indices[begin:begin + batch_size]]).to(device)
            if clips.shape[1] < frames:
                raise ConfigError(f"clips have {clips.shape[1]} frames; the tokenizer takes {frames}")
            codes = tokenizer.encode(clips)
            recon = tokenizer.decode(codes)
            partial = {k: tokenizer.decode({level: codes[level] for level in levels[:k]}) for k in prefixes}
            coarse = partial[1]
            for name, fn in (("psnr", psnr), ("ssim", ssim), ("ssim_uniform7", ssim_uniform7)):
                scores[name].append(fn(recon, clips).mean(1).cpu().numpy())
            scores[first_only].append(psnr(coarse, clips).mean(1).cpu().numpy())
            for k, name in prefixes.items():
                scores[name].append(psnr(partial[k], clips).mean(1).cpu().numpy())
            for level, c in codes.items():
                counts[level] += np.bincount(c.flatten().cpu().numpy(), minlength=len(counts[level]))
            if examples is None:
                shown = [partial[k] for k in prefixes] if per_layer else [recon, coarse]
                examples = (clips[:4].cpu(), [x[:4].cpu() for x in shown])
            progress.advance(len(clips))
    labels = [f"after {k} of {len(levels)} levels" for k in prefixes] if per_layer else \
        ["reconstruction", f"{first} level only"]
    rows = []
    for i, original in enumerate(examples[0]):
        rows += [GridRow(original, "original")] + [GridRow(x[i], label, predicted=True)
                                                     for x, label in zip(examples[1], labels)]
    write_grids(out / "reconstructions", rows)
    _usage_plot(counts, out / "code_usage.png")
    budget = tokenizer.bit_budget()
    result = {"clips": len(indices), "metrics": {}, "codes": {}, "bit_budget": budget,
              "compression_ratio": 1 / budget["ratio"]}
    for name, parts in scores.items():
        mean, half = confidence_interval(np.concatenate(parts))
        result["metrics"][name] = {"mean": float(mean), "ci95": float(half)}
    for level, values in counts.items():
        p = values / values.sum()
        entropy = -(p[p > 0] * np.log(p[p > 0])).sum()
        result["codes"][level] = {"used": int((values > 0).sum()), "of": len(values),
                                  "perplexity": float(math.exp(entropy))}
    atomic_write_text(out / "reconstruction.json", json.dumps(result, indent=2))
    return result
