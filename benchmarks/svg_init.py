"""SVG-LP trained from PyTorch's default initialisation against the code release's (edenton/svg ``init_weights``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/svg_init.py --init release [--steps 600] [--width 32] [--batch 16]
        [--out benchmarks/results/svg_init_release.json]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/svg_init.py --init pytorch ...   # beside it, on the other core

Builds ``svg_lp_smmnist`` at ``--width`` from seed 0 -- with vidpred's initialisation (the release's: N(0, 0.02)
weights, BatchNorm scales N(1, 0.02)) or, for ``--init pytorch``, with every layer's ``reset_parameters()``
(PyTorch's defaults, what vidpred did before) -- and trains it ``--steps`` steps with Adam (lr 0.002, the paper's,
§4.1) in float32 on fresh 2-digit SM-MNIST training clips of 15 frames, the same clips in the same order for both.
Prints and saves the mean MSE and KL of every 50 steps; then, on 64 test clips, what the latent carries:
the KL per step, and the teacher-forced MSE with z_t drawn from the posterior against z_t drawn from the learned
prior (a latent that carries nothing gives the same MSE with either).
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


@torch.no_grad()
def latent_use(model, clips: torch.Tensor) -> dict:
    """KL per step and the teacher-forced MSE with z from the posterior and from the prior (mirrors SVG.loss)."""
    model.eval()
    h, skips = model._encode(clips)
    mse = {}
    for source in ("posterior", "prior"):
        torch.manual_seed(1)
        post_state = prior_state = pred_state = None
        outputs, kl = [], []
        for step in range(1, clips.shape[1]):
            q, post_state = model.posterior.step(h[:, step], post_state)
            p, prior_state = model.learned_prior.step(h[:, step - 1], prior_state)
            kl.append(q.kl(p).mean().item())
            z = (q if source == "posterior" else p).rsample()
            g, pred_state = model.frame_predictor.step(torch.cat([h[:, step - 1], z], 1), pred_state)
            outputs.append(g)
        frames = [model._skip_frame(s, model.config.num_context) for s in range(1, clips.shape[1])]
        decoded = model.decoder(torch.stack(outputs, 1).flatten(0, 1), [s[:, frames].flatten(0, 1) for s in skips])
        mse[source] = (decoded.view_as(clips[:, 1:]) - clips[:, 1:]).pow(2).mean().item()
    return {"kl_per_step": [round(k, 3) for k in kl], "kl_total": round(sum(kl), 3),
            "teacher_forced_mse_z_from_posterior": round(mse["posterior"], 5),
            "teacher_forced_mse_z_from_prior": round(mse["prior"], 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", choices=("release", "pytorch"), required=True)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out")
    args = parser.parse_args()
    from vidpred.data import build_dataset, data_config
    from vidpred.models.io import build_model
    from vidpred.models.presets import PRESETS

    config = PRESETS["svg_lp_smmnist"]()
    config.width = args.width
    torch.manual_seed(0)
    model = build_model(config)
    if args.init == "pytorch":
        torch.manual_seed(0)
        for module in model.modules():
            if module is not model and hasattr(module, "reset_parameters"):
                module.reset_parameters()
    last_layer = model.decoder.last[0].weight.std().item()
    train = build_dataset(data_config("stochastic_moving_mnist", num_frames=15), "train")
    test = build_dataset(data_config("stochastic_moving_mnist", num_frames=15), "test")
    optimiser = torch.optim.Adam(model.parameters(), lr=0.002)
    log, window, started = [], [], time.perf_counter()
    for step in range(args.steps):
        model.train()
        batch = torch.stack([train[step * args.batch + i] for i in range(args.batch)])
        out = model.loss(batch)
        optimiser.zero_grad()
        out.total.backward()
        optimiser.step()
        window.append((out.parts["mse"].item(), out.parts["kl"].item()))
        if len(window) == 50:
            mse, kl = (statistics.mean(v) for v in zip(*window))
            log.append({"step": step + 1, "mse": round(mse, 4), "kl": round(kl, 3)})
            print(f"{args.init} step {step + 1}: summed mse {mse:.4f}, kl {kl:.3f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            window = []
    use = latent_use(model, torch.stack([test[i] for i in range(64)]))
    print(use)
    out = args.out or f"benchmarks/results/svg_init_{args.init}.json"
    save_result(out, "svg_init.py", init=args.init, width=args.width, batch=args.batch, steps=args.steps,
                decoder_last_layer_weight_std_at_start=round(last_layer, 4),
                seconds=round(time.perf_counter() - started), log=log, latent_use_on_64_test_clips=use)


if __name__ == "__main__":
    main()
