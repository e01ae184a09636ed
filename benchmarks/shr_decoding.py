"""Where an S-HR-VQVAE's predictions lose quality: decodings of the same Moving MNIST test sequences (mmnist-10-10's
data, the first N), each scored with MSE and SSIM (uniform 7x7) per predicted frame, beside blank and copy-last.

- ``reconstruction``: the true future frames through the tokenizer (the ceiling any prior can reach);
- ``teacher-forced``: each predicted frame's codes the prior's arg-max at every position given the *true* codes of
  everything before it (earlier frames, earlier positions, coarser layers): one step, no error fed back;
- ``argmax``: the model's arg-max rollout (what `vidpred evaluate` scores with ``decoding: argmax``);
- with ``--samples K``: one sampled rollout at ``--temperature``, and the pixel-wise median and mean of K of them.

    .venv/bin/python benchmarks/shr_decoding.py --model RUN_OR_PRETRAINED [--sequences 100] [--samples 0]
        [--temperature 0.5] [--batch-size 25] [--out benchmarks/results/shr_decoding.json]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import save_result  # noqa: E402


def score(pred: torch.Tensor, truth: torch.Tensor) -> dict:
    from vidpred.eval.metrics import mse, ssim_uniform7

    m, s = mse(pred, truth), ssim_uniform7(pred, truth)  # (N, T) each
    return {"mse": m.mean().item(), "ssim_uniform7": s.mean().item(),
            "mse_per_frame": [round(v, 1) for v in m.mean(0).tolist()],
            "ssim_per_frame": [round(v, 3) for v in s.mean(0).tolist()]}


@torch.no_grad()
def decodings(model, clips: torch.Tensor, samples: int, temperature: float, seed: int) -> dict[str, torch.Tensor]:
    ctx = model.config.context_frames
    horizon = clips.shape[1] - ctx
    codes = model.tokenizer.encode(clips)
    logits, _ = model.prior.eval().logits(codes, first=ctx)  # (B, M, n, Tf, h, w)
    out = {"reconstruction": model.tokenizer.decode({k: v[:, ctx:] for k, v in codes.items()}),
           "teacher-forced": model.tokenizer.decode({level: logits[:, :, i].argmax(1)
                                                     for i, level in enumerate(model.tokenizer.levels)})}
    model.config.decoding = "argmax"
    out["argmax"] = model.predict(clips[:, :ctx], horizon)[:, 0]
    if samples:
        model.config.decoding = "sample"
        generator = torch.Generator().manual_seed(seed)
        drawn = model.predict(clips[:, :ctx], horizon, num_samples=samples, generator=generator,
                              temperature=temperature)
        model.config.decoding = "argmax"
        out[f"one sample (T={temperature})"] = drawn[:, 0]
        out[f"pixel median of {samples} (T={temperature})"] = drawn.median(dim=1).values
        out[f"pixel mean of {samples} (T={temperature})"] = drawn.mean(dim=1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--samples", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=25, help="sequences per batch (x samples when sampling)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/shr_decoding.json")
    args = parser.parse_args()
    if args.samples < 0 or args.samples % 2 == 0 and args.samples:
        parser.error(f"--samples must be 0 or odd (the median of an odd count is one of the draws), not {args.samples}")
    from vidpred.data import build_dataset, data_config
    from vidpred.eval.protocol import get_protocol
    from vidpred.models.io import load_model

    model = load_model(args.model).eval()
    if model.config.name != "s_hr_vqvae":
        sys.exit(f"{args.model} is a {model.config.name} model; this benchmark takes an S-HR-VQVAE")
    protocol = get_protocol("mmnist-10-10")
    data = build_dataset(data_config(**protocol.data), "test")
    count = min(args.sequences, len(data))
    per_batch = max(1, args.batch_size // max(1, args.samples))
    parts: dict[str, list[torch.Tensor]] = {}
    truth, last = [], []
    for start in range(0, count, per_batch):
        clips = torch.stack([data[i] for i in range(start, min(count, start + per_batch))])
        clips = clips[:, :protocol.context + protocol.horizon]
        truth.append(clips[:, protocol.context:])
        last.append(clips[:, protocol.context - 1:protocol.context])
        for name, frames in decodings(model, clips, args.samples, args.temperature, args.seed + start).items():
            parts.setdefault(name, []).append(frames)
        print(f"{min(count, start + per_batch)}/{count} sequences", file=sys.stderr, flush=True)
    truth = torch.cat(truth)
    rows = {"blank": score(torch.zeros_like(truth), truth),
            "copy_last": score(torch.cat(last).expand_as(truth), truth)}
    rows.update({name: score(torch.cat(frames), truth) for name, frames in parts.items()})
    for name, r in rows.items():
        print(f"{name:32s} MSE {r['mse']:6.1f}  SSIM {r['ssim_uniform7']:.3f}  MSE per frame {r['mse_per_frame']}")
    save_result(args.out, "shr_decoding.py", sequences=count, results=rows)


if __name__ == "__main__":
    main()
