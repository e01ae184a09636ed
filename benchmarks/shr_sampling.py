"""Seconds to predict 10 frames of one Moving MNIST clip with S-HR-VQVAE, arg-max decoding, batch 1.

    .venv/bin/python benchmarks/shr_sampling.py [--model RUN_OR_PRETRAINED_DIR] [--repeats 3] [--naive]
        [--out benchmarks/results/shr_sampling.json]

Without ``--model`` the ``hr_vqvae_mmnist_3`` preset with fresh weights (the same cost per position). The whole
``predict`` call: encode the 10 context frames, the ST-PixelCNN of each of the 3 tree layers over the 10 future
frames (16x16 codes each; the context prefilled in one pass), decode. ``--naive`` also times the naive sampler
(one full forward pass per position) once, and checks that both give the same frames.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/shr_sampling.json")
    args = parser.parse_args()

    from vidpred.models.io import build_model, load_model
    from vidpred.models.presets import hr_vqvae_mmnist_3

    model = load_model(args.model) if args.model else build_model(hr_vqvae_mmnist_3())
    model.stages_trained.fill_(model.pipeline.num_stages)
    model.config.decoding = "argmax"
    model.eval()
    cfg = model.config
    torch.manual_seed(0)
    context = torch.rand(1, cfg.context_frames, cfg.channels, cfg.image_size, cfg.image_size)
    runs, frames = [], None
    for _ in range(args.repeats):
        started = time.perf_counter()
        frames = model._predict(context, 10, 1, None, 1.0, cached=True)
        runs.append(time.perf_counter() - started)
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "torch_threads": torch.get_num_threads(), "model": args.model or "hr_vqvae_mmnist_3 (fresh weights)",
              "tree_layers": cfg.tokenizer.num_layers, "positions": cfg.tokenizer.num_layers * 10 * 16 * 16,
              "cached_seconds": min(runs), "cached_runs": runs,
              "command": "benchmarks/shr_sampling.py " + " ".join(sys.argv[1:])}
    print(f"cached: {min(runs):.2f} s for 10 frames (best of {args.repeats})", flush=True)
    if args.naive:
        started = time.perf_counter()
        naive = model._predict(context, 10, 1, None, 1.0, cached=False)
        result["naive_seconds"] = time.perf_counter() - started
        result["same_frames"] = bool(torch.equal(naive, frames))
        print(f"naive: {result['naive_seconds']:.1f} s; same frames: {result['same_frames']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
