"""Seconds to predict 10 frames of one Moving MNIST clip with S-HR-VQVAE, arg-max decoding, batch 1.

    .venv/bin/python benchmarks/shr_sampling.py [--model RUN_OR_PRETRAINED_DIR] [--clips 5] [--repeats 3]
        [--naive] [--out benchmarks/results/shr_sampling.json]

Without ``--model`` the ``hr_vqvae_mmnist_3`` preset with fresh weights. The whole ``predict`` call on each of the
first ``--clips`` Moving MNIST test clips: encode the 10 context frames, the ST-PixelCNN of each of the 3 tree
layers over the 10 future frames (16x16 codes each; the context prefilled in one pass), decode. Timed for the
cached sampler solving a whole frame at a time (the default; its number of rounds depends on how predictable the
frame is, hence real clips and a trained model) and position by position; both must give the same frames.
``--naive`` also times the naive sampler (one full forward pass per position) on the first clip.
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
    parser.add_argument("--clips", type=int, default=5)
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
    from vidpred.data import build_dataset, data_config

    dataset = build_dataset(data_config("moving_mnist", num_test=args.clips), "test")
    pixelcnns = list(model.prior.pixelcnns)

    def timed(solve_steps: bool, clip: torch.Tensor, cached: bool = True) -> tuple[float, torch.Tensor]:
        for net in pixelcnns:
            net.solve_steps = solve_steps
        best, frames = float("inf"), None
        for _ in range(args.repeats if cached else 1):
            started = time.perf_counter()
            frames = model._predict(clip, 10, 1, None, 1.0, cached=cached)
            best = min(best, time.perf_counter() - started)
        return best, frames

    seconds = {"whole_frames": [], "positions": []}
    same = True
    for i in range(args.clips):
        context = dataset[i][None, :cfg.context_frames]
        fast, frames = timed(True, context)
        slow, reference = timed(False, context)
        seconds["whole_frames"].append(fast)
        seconds["positions"].append(slow)
        same &= bool(torch.equal(frames, reference))
        print(f"clip {i}: {fast:.3f} s solving whole frames, {slow:.3f} s position by position", flush=True)
    mean = {k: sum(v) / len(v) for k, v in seconds.items()}
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "torch_threads": torch.get_num_threads(), "model": args.model or "hr_vqvae_mmnist_3 (fresh weights)",
              "clips": args.clips, "repeats": args.repeats, "tree_layers": cfg.tokenizer.num_layers,
              "positions": cfg.tokenizer.num_layers * 10 * 16 * 16,
              "mean_seconds_whole_frames": mean["whole_frames"], "mean_seconds_positions": mean["positions"],
              "seconds": seconds, "same_frames": same,
              "command": "benchmarks/shr_sampling.py " + " ".join(sys.argv[1:])}
    print(f"mean over {args.clips} clips (best of {args.repeats} each): {mean['whole_frames']:.3f} s solving whole "
          f"frames, {mean['positions']:.3f} s position by position; same frames: {same}")
    if args.naive:
        naive_seconds, naive = timed(False, dataset[0][None, :cfg.context_frames], cached=False)
        result["naive_seconds"] = naive_seconds
        result["naive_same_frames"] = bool(torch.equal(naive, timed(True, dataset[0][None, :cfg.context_frames])[1]))
        print(f"naive: {naive_seconds:.1f} s; same frames: {result['naive_same_frames']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
