"""Training throughput of a model preset on Stochastic Moving MNIST clips, float32 against bf16 autocast.

    .venv/bin/python benchmarks/training_throughput.py [--preset svg_lp_smmnist] [--width 64] [--batch 16]
        [--steps 13] [--lr 0.002] [--out benchmarks/results/svg_throughput.json]

Builds the preset from one seed and trains it ``--steps`` steps with (fused) Adam (``--lr``; 0.002 is SVG's, §4.1)
on the same fixed batch of 2-digit Stochastic Moving MNIST clips (as many frames as the preset trains on), once in
float32 and once under ``torch.autocast(bfloat16)`` (Lightning's ``bf16-mixed``), through ``bf16_training.train``
(for an adversarial model a step is a discriminator step and a generator step): the median step time after 3
warm-up steps, and sequences per second. Threads: torch's default (2 on this machine). Nothing else should run
meanwhile. (Until 2026-11-23 this script was ``svg_throughput.py``, for SVG presets only.)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bf16_training import train  # noqa: E402
from data_loading import save_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="svg_lp_smmnist")
    parser.add_argument("--width", type=int, help="the frame encoder's first-stage channels (default: the preset's)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=13)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--out", default="benchmarks/results/svg_throughput.json")
    args = parser.parse_args()
    from vidpred.data import build_dataset, data_config
    from vidpred.models.presets import PRESETS

    frames = PRESETS[args.preset]().clip_frames
    dataset = build_dataset(data_config("stochastic_moving_mnist", num_frames=frames), "train")
    batch = torch.stack([dataset[i] for i in range(args.batch)])
    from vidpred.models.io import build_model

    results = {}
    for name, bf16 in (("float32", False), ("bf16", True)):
        config = PRESETS[args.preset]()
        config.width = args.width or config.width
        run = train(lambda config=config: build_model(config), [batch], bf16, args.steps, lr=args.lr)
        step = run["seconds_per_step"]
        results[name] = {"seconds_per_step": round(step, 3), "sequences_per_second": round(args.batch / step, 2),
                         "final_loss": round(run["final_loss"], 5)}
        print(f"{args.preset} {name}: {results[name]['seconds_per_step']} s/step, "
              f"{results[name]['sequences_per_second']} sequences/s")
    speedup = results["float32"]["seconds_per_step"] / results["bf16"]["seconds_per_step"]
    save_result(args.out, "training_throughput.py", preset=args.preset, width=config.width, batch=args.batch,
                frames=frames, steps=args.steps, lr=args.lr, results=results, bf16_speedup=round(speedup, 2))


if __name__ == "__main__":
    main()
