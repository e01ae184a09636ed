"""Training steps under bf16 autocast against float32 on this machine: step time and the loss reached.

    .venv/bin/python benchmarks/bf16_training.py [--steps 40] [--layers-only] \
        [--out benchmarks/results/bf16_training.json]

For each trainable part of the Moving MNIST Video VQ-VAE preset (``video_vqvae_mmnist``: the tokenizer, the top
prior, the bottom prior) the script builds the part from one seed, trains it ``--steps`` steps with (fused) Adam
on the same fixed batches, once in float32 and once under ``torch.autocast(bfloat16)`` (what Lightning's
``bf16-mixed`` does), and reports the median step time after 3 warm-up steps and the mean loss of the last 10
steps. The tokenizer trains on Moving MNIST clips; the priors on the codes of those clips under the committed
tokenizer (``pretrained/mmnist_video_vqvae``) when it is there, else under the fresh tokenizer. Batches are the
Moving MNIST config's (configs/mmnist/video_vqvae.yaml: tokenizer 16 clips, top prior 32, bottom prior 16).
Threads: torch's default (2 on this machine).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import machine  # noqa: E402

PRETRAINED = Path(__file__).resolve().parents[1] / "pretrained" / "mmnist_video_vqvae"


def clips(count: int, frames: int) -> torch.Tensor:
    from vidpred.data import build_dataset, data_config

    dataset = build_dataset(data_config("moving_mnist", num_frames=20), "train")
    return torch.stack([dataset[i][:frames] for i in range(count)])


def layers(repeats: int = 10) -> dict:
    """Single layers, forward + backward, float32 vs bf16 autocast, default and channels-last memory formats:
    which operations the part timings come from. Batch shapes of the Moving MNIST priors and tokenizer."""
    torch.manual_seed(0)
    cases = {
        "conv3d 64->128 k3 (16x64x8x16x16)": (torch.nn.Conv3d(64, 128, 3, padding=1), (16, 64, 8, 16, 16)),
        "conv3d 64->128 k(1,3,3)": (torch.nn.Conv3d(64, 128, (1, 3, 3), padding=(0, 1, 1)), (16, 64, 8, 16, 16)),
        "conv2d 64->128 k3 (128x64x16x16)": (torch.nn.Conv2d(64, 128, 3, padding=1), (128, 64, 16, 16)),
        "conv_transpose3d 64->1 k(4,8,8) s(2,4,4)": (
            torch.nn.ConvTranspose3d(64, 1, (4, 8, 8), stride=(2, 4, 4), padding=(1, 2, 2)), (16, 64, 8, 16, 16)),
        "conv3d 1x1x1 128->128": (torch.nn.Conv3d(128, 128, 1), (16, 128, 8, 16, 16)),
    }
    out = {}
    for name, (layer, shape) in cases.items():
        row = {}
        for layout in ("default", "channels_last"):
            fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
            x = torch.randn(shape)
            module = layer
            if layout == "channels_last":
                x, module = x.to(memory_format=fmt), layer.to(memory_format=fmt)
            x.requires_grad_(True)
            for bf16 in (False, True):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    module(x).float().sum().backward()
                    started = time.perf_counter()
                    for _ in range(repeats):
                        module(x).float().sum().backward()
                row[f"{layout} {'bf16' if bf16 else 'fp32'} ms"] = 1000 * (time.perf_counter() - started) / repeats
        out[name] = row
        print(name, {k: round(v, 1) for k, v in row.items()}, flush=True)
    return out


def train(make_part, batches: list, bf16: bool, steps: int, seed: int = 0, lr: float = 1e-3) -> dict:
    """Train ``make_part()`` (anything with ``loss(batch)``; an adversarial model -- ``discriminator_loss`` and
    ``generator_loss`` -- takes a discriminator step then a generator step, as ``training/adversarial.py``) ``steps``
    steps on ``batches`` in turn: the median step time after 3 warm-up steps and the mean loss (the generator's)
    of the last 10 steps."""
    torch.manual_seed(seed)
    part = make_part().train()
    if hasattr(part, "discriminator_loss"):
        updates = [(part.discriminator_loss, part.discriminator_parameters()), (part.generator_loss,
                                                                                part.generator_parameters())]
    else:
        updates = [(part.loss, list(part.parameters()))]
    optimizers = [torch.optim.Adam(params, lr=lr, fused=True) for _, params in updates]
    times, losses = [], []
    for step in range(steps):
        batch = batches[step % len(batches)]
        started = time.perf_counter()
        for (loss_of, _), optimizer in zip(updates, optimizers):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = loss_of(batch).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - started)
        losses.append(loss.item())
    return {"seconds_per_step": statistics.median(times[3:]), "final_loss": statistics.fmean(losses[-10:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--layers-only", action="store_true", help="time single layers only")
    parser.add_argument("--out", default="benchmarks/results/bf16_training.json")
    args = parser.parse_args()
    if args.layers_only:
        out = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
               "torch_threads": torch.get_num_threads(), "layers": layers(),
               "command": "benchmarks/bf16_training.py " + " ".join(sys.argv[1:])}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=2))
        print(f"wrote {args.out}")
        return

    from vidpred.models.presets import video_vqvae_mmnist
    from vidpred.models.video_vqvae import BottomPrior, TopPrior, VideoVQVAE

    cfg = video_vqvae_mmnist()
    video = clips(4 * 32, cfg.tokenizer.num_frames)
    tokenizer = VideoVQVAE(cfg.tokenizer).eval()
    if (PRETRAINED / "model.safetensors").is_file():
        from safetensors.torch import load_file

        state = load_file(str(PRETRAINED / "model.safetensors"))
        tokenizer.load_state_dict({k[len("tokenizer."):]: v.float() for k, v in state.items()
                                   if k.startswith("tokenizer.")})
    ct, cb = cfg.context_steps
    whole, context = tokenizer.encode(video), tokenizer.encode(video[:, :cfg.context_frames])
    codes = {"top": torch.cat([context["top"], whole["top"][:, ct:]], 1),
             "bottom": torch.cat([context["bottom"], whole["bottom"][:, cb:]], 1)}

    def code_batches(size):
        return [{k: v[i:i + size] for k, v in codes.items()} for i in range(0, len(video), size)]

    parts = {
        "tokenizer": (lambda: VideoVQVAE(cfg.tokenizer), [video[i:i + 16] for i in range(0, len(video), 16)]),
        "top_prior": (lambda: TopPrior(cfg), code_batches(32)),
        "bottom_prior": (lambda: BottomPrior(cfg), code_batches(16)),
    }
    results = {}
    for name, (make, batches) in parts.items():
        fp32 = train(make, batches, False, args.steps)
        bf16 = train(make, batches, True, args.steps)
        results[name] = {"fp32": fp32, "bf16": bf16,
                         "time_ratio_bf16_over_fp32": bf16["seconds_per_step"] / fp32["seconds_per_step"]}
        print(f"{name}: fp32 {fp32['seconds_per_step']:.3f} s/step, loss {fp32['final_loss']:.4f}; bf16 "
              f"{bf16['seconds_per_step']:.3f} s/step, loss {bf16['final_loss']:.4f}; bf16/fp32 time "
              f"{results[name]['time_ratio_bf16_over_fp32']:.2f}", flush=True)
    out = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
           "torch_threads": torch.get_num_threads(), "steps": args.steps, "results": results,
           "command": "benchmarks/bf16_training.py " + " ".join(sys.argv[1:])}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
