"""What §4.2's attention costs S-HR-VQVAE's prior per training step on this CPU: with and without it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/shr_attention_cost.py --attention-every 2   # beside it:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/shr_attention_cost.py --attention-every 0
        [--batch 8] [--steps 6] [--out benchmarks/results/shr_attention_cost_<N>.json]

Builds the ST-PixelCNN prior of ``hr_vqvae_mmnist_3`` (one gated PixelCNN of 4 layers x 32 units per tree layer
over the clip's 20 x 16 x 16 codes) with attention after every ``--attention-every``-th gated layer (0: none),
and times training steps (forward, backward, Adam) on a fixed batch of random codes at the CPU config's batch of 8
with its ``loss_on_context`` and ``condition_on_coarser``: the median after 2 warm-up steps.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import save_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attention-every", type=int, required=True)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--out")
    args = parser.parse_args()
    from vidpred.models.hr_vqvae.prior import STPixelCNNPrior
    from vidpred.models.presets import PRESETS

    cfg = PRESETS["hr_vqvae_mmnist_3"]()
    cfg.prior.attention_every = args.attention_every
    cfg.prior.condition_on_coarser = cfg.prior.loss_on_context = True  # configs/mmnist/s_hr_vqvae.yaml
    torch.manual_seed(0)
    prior = STPixelCNNPrior(cfg).train()
    t = cfg.tokenizer
    batch = {level: torch.randint(0, t.codebook_size, (args.batch, t.num_frames, t.latent_size, t.latent_size))
             for level in prior.levels}
    optimiser = torch.optim.Adam(prior.parameters(), lr=1e-3)
    times = []
    for _ in range(args.steps + 2):
        started = time.perf_counter()
        loss = prior.loss(batch).total
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - started)
    step = statistics.median(times[2:])
    parameters = sum(p.numel() for p in prior.parameters())
    print(f"attention every {args.attention_every}: {step:.2f} s per step of {args.batch}, {parameters:,} parameters")
    save_result(args.out or f"benchmarks/results/shr_attention_cost_{args.attention_every}.json",
                "shr_attention_cost.py", attention_every=args.attention_every, batch=args.batch, steps=args.steps,
                seconds_per_step=round(step, 3), parameters=parameters)


if __name__ == "__main__":
    main()
