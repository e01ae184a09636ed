"""Seconds per predicted clip of the Video VQ-VAE predictor: fast (cached) sampling vs the naive sampler.

    .venv/bin/python benchmarks/vq_sampling.py [--model pretrained/mmnist_video_vqvae] [--batch 1 8]
        [--kinetics] [--out benchmarks/results/vq_sampling.json]

Moving MNIST (``--model``: a trained pipeline folder; without it the ``video_vqvae_mmnist`` preset with fresh
weights, which costs the same per position): one window of the priors (8 context frames -> 8 predicted frames:
2 top steps of 8x8 codes, then 4 bottom slices of 16x16), the whole ``predict`` call (encode context, top prior,
bottom prior, decode), timed for both samplers from the same seed; the script also checks that both return the
same frames. ``--kinetics`` builds the walker_kinetics_256 top prior (Table 4: 40 layers, 512/1024 units) and
times one sampling step of each sampler at batch 1: one position of the cached sampler (the mean over the first
row of the first step, which includes that row's one vertical-stack pass) and one full forward pass of the naive
one, and projects both to the 3 x 32 x 32 positions of a top sample (labelled as a projection).
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


def moving_mnist(folder: str | None, batch: int, repeats: int) -> dict:
    from vidpred.models.io import build_model, load_model
    from vidpred.models.presets import video_vqvae_mmnist

    model = load_model(folder) if folder else build_model(video_vqvae_mmnist())
    model.stages_trained.fill_(model.pipeline.num_stages)
    model.eval()
    cfg = model.config
    top_shape, bottom_shape = cfg.tokenizer.top_shape, cfg.tokenizer.bottom_shape
    context = torch.rand(batch, cfg.context_frames, cfg.channels, cfg.image_size, cfg.image_size)
    horizon = cfg.num_predicted
    timings, outputs = {}, {}
    for cached in (True, False):
        runs = []
        for _ in range(repeats if cached else 1):  # the naive sampler is too slow to repeat
            started = time.perf_counter()
            outputs[cached] = model._predict(context, horizon, 1, torch.Generator().manual_seed(0), 1.0, cached=cached)
            runs.append(time.perf_counter() - started)
        timings[cached] = min(runs)
    same = bool(torch.equal(outputs[True], outputs[False]))
    return {"model": folder or "video_vqvae_mmnist preset (fresh weights)", "batch": batch, "horizon": horizon,
            "positions_per_clip": (top_shape[0] - cfg.context_steps[0]) * top_shape[1] * top_shape[2]
            + (bottom_shape[0] - cfg.context_steps[1]) * bottom_shape[1] * bottom_shape[2],
            "cached_seconds_per_clip": timings[True] / batch, "naive_seconds_per_clip": timings[False] / batch,
            "speedup": timings[False] / timings[True], "same_frames": same}


def kinetics_top_step() -> dict:
    from vidpred.models.presets import walker_kinetics_256
    from vidpred.models.video_vqvae import TopPrior

    cfg = walker_kinetics_256()
    prior = TopPrior(cfg).eval()
    pixelcnn = prior.pixelcnn
    count = sum(p.numel() for p in prior.parameters())
    ct, cb = cfg.context_steps
    with torch.no_grad():
        cond = prior.cond(torch.randint(0, 512, (1, ct, 32, 32)), torch.randint(0, 512, (1, cb, 64, 64)))
        codes = torch.zeros(1, *pixelcnn.grid, dtype=torch.long)
        started = time.perf_counter()
        pixelcnn(codes, cond)
        naive = time.perf_counter() - started
        cache = {"batch": 1}
        positions = pixelcnn.grid[2]  # one whole row: 32 positions, the row's vertical pass, the step's past pass
        started = time.perf_counter()
        for index in range(positions):
            pixelcnn._step(cache, index, cond)
            pixelcnn._write(cache, index, codes.flatten(1)[:, index])
        cached = (time.perf_counter() - started) / positions
    total = pixelcnn.grid[0] * pixelcnn.grid[1] * pixelcnn.grid[2]
    return {"parameters": count, "grid": list(pixelcnn.grid), "naive_seconds_per_step": naive,
            "cached_seconds_per_step": cached, "positions": total, "steps_timed_cached": positions,
            "projected_naive_seconds_per_top_sample": naive * total,
            "projected_cached_seconds_per_top_sample": cached * total, "speedup_per_step": naive / cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a trained video_vqvae pipeline folder")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--kinetics", action="store_true", help="also time one top-prior step at Table 4's size")
    parser.add_argument("--out", default="benchmarks/results/vq_sampling.json")
    args = parser.parse_args()
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "moving_mnist": []}
    for batch in args.batch:
        row = moving_mnist(args.model, batch, args.repeats)
        result["moving_mnist"].append(row)
        print(f"moving_mnist batch {batch}: cached {row['cached_seconds_per_clip']:.2f} s/clip, naive "
              f"{row['naive_seconds_per_clip']:.2f} s/clip, {row['speedup']:.1f}x, same frames: {row['same_frames']}")
    if args.kinetics:
        k = kinetics_top_step()
        result["kinetics_top_prior"] = k
        print(f"walker_kinetics_256 top prior ({k['parameters']:,} parameters, grid {k['grid']}): naive step "
              f"{k['naive_seconds_per_step']:.2f} s, cached step {k['cached_seconds_per_step'] * 1000:.1f} ms "
              f"({k['speedup_per_step']:.0f}x); projected per top sample: naive "
              f"{k['projected_naive_seconds_per_top_sample'] / 3600:.1f} h, cached "
              f"{k['projected_cached_seconds_per_top_sample']:.0f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
