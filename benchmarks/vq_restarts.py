"""The Video VQ-VAE tokenizer with dead-code restarts from any encoder output, from the poorly quantised ones, and
without restarts ([fidelity] item 7): code usage, how exactly the background comes back, reconstruction.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vq_restarts.py train --restart any --minutes 10 --runs ~/runs/restarts
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vq_restarts.py train --restart poorly_quantised ...   # beside it
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vq_restarts.py train --restart none ...
    .venv/bin/python benchmarks/vq_restarts.py summary --runs ~/runs/restarts [--clips 200] \
        [--out benchmarks/results/vq_restarts.json]

``train`` runs the tokenizer stage of ``configs/mmnist/video_vqvae.yaml`` (the Moving MNIST preset: top 8x8x4 and
bottom 16x16x8 codes of 512 each, batch 16, Adam 3e-4) for ``--minutes`` with ``model.tokenizer.restart_from``
(``none``: ``restart_after=0``, VQ-VAE-2's way), into ``RUNS/<restart>``. ``summary`` scores each run's tokenizer on the
first ``--clips`` test clips (16 frames): the codes used per level and their perplexity; the background -- the pixels
that are exactly 0 in the truth -- and the share of it reconstructed exactly 0 (on Moving MNIST a background of 1/255
already costs SSIM); how many distinct bottom codes sit on all-black cells (2 frames x 4 x 4 pixels all 0); SSIM and
MSE per frame beside a black frame's. Prints a Markdown table and saves JSON.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import save_result  # noqa: E402

CONFIG = "configs/mmnist/video_vqvae.yaml"
VARIANTS = ("any", "poorly_quantised", "none")


def experiment(restart: str, minutes: float, runs: Path):
    from vidpred.training.config import load_experiment

    overrides = [f"name={restart}", f"runs_dir={runs}", f"stages.tokenizer.max_minutes={minutes}"]
    overrides += ["model.tokenizer.restart_after=0"] if restart == "none" else [
        f"model.tokenizer.restart_from={restart}"]
    return load_experiment(CONFIG, overrides)


def train(args) -> None:
    from vidpred.models.io import build_model
    from vidpred.training.fit import train_predictor
    from vidpred.training.stages import stage_config

    cfg = experiment(args.restart, args.minutes, args.runs)
    torch.manual_seed(cfg.seed)
    tokenizer = build_model(cfg.model).tokenizer
    train_predictor(stage_config(cfg, "tokenizer"), args.runs / args.restart / "tokenizer", True, model=tokenizer,
                    publish=False)
    torch.save(tokenizer.state_dict(), args.runs / args.restart / "tokenizer.pt")


@torch.no_grad()
def score(tokenizer, clips: torch.Tensor) -> dict:
    from vidpred.eval.metrics import mse, ssim

    codes, recon = [], []
    for batch in clips.split(25):
        c = tokenizer.encode(batch)
        codes.append(c)
        recon.append(tokenizer.decode(c))
    recon = torch.cat(recon)
    result = {}
    for level in ("top", "bottom"):
        flat = torch.cat([c[level].flatten() for c in codes])
        counts = torch.bincount(flat, minlength=tokenizer.config.num_codes).float()
        probs = counts / counts.sum()
        result[f"codes_used_{level}"] = int((counts > 0).sum())
        result[f"perplexity_{level}"] = round(torch.exp(-(probs * probs.clamp_min(1e-12).log()).sum()).item(), 1)
    background = clips == 0
    result["background_share"] = round(background.float().mean().item(), 4)
    result["background_exact"] = round((recon[background] == 0).float().mean().item(), 4)
    # a bottom code covers 2 frames x 4 x 4 pixels: the cells that are all black in the truth
    b, t = clips.shape[:2]
    cells = clips.view(b, t // 2, 2, 16, 4, 16, 4).amax(dim=(2, 4, 6)) == 0  # (B, T/2, 16, 16)
    bottom = torch.cat([c["bottom"] for c in codes])
    result["black_cells_share"] = round(cells.float().mean().item(), 4)
    result["bottom_codes_on_black_cells"] = int(bottom[cells].unique().numel())
    result["ssim"] = round(ssim(recon, clips).mean().item(), 4)
    result["mse"] = round(mse(recon, clips).mean().item(), 2)
    result["ssim_black_frame"] = round(ssim(torch.zeros_like(clips), clips).mean().item(), 4)
    result["mse_black_frame"] = round(mse(torch.zeros_like(clips), clips).mean().item(), 2)
    return result


def summary(args) -> None:
    from vidpred.data import build_dataset
    from vidpred.models.io import build_model

    results = {}
    for restart in VARIANTS:
        weights = args.runs / restart / "tokenizer.pt"
        if not weights.is_file():
            print(f"no run {weights}: skipped", file=sys.stderr)
            continue
        cfg = experiment(restart, 1, args.runs)  # the minutes do not matter here
        tokenizer = build_model(cfg.model).tokenizer
        tokenizer.load_state_dict(torch.load(weights, weights_only=True))
        tokenizer.eval()
        test = build_dataset(cfg.data, "test")
        frames = tokenizer.num_frames
        clips = torch.stack([test[i][:frames] for i in range(args.clips)])
        results[restart] = {"clips": args.clips, **score(tokenizer, clips)}
        results[restart]["run"] = str(args.runs / restart)
        print(f"{restart}: {results[restart]}", file=sys.stderr)
    keys = ["codes_used_top", "perplexity_top", "codes_used_bottom", "perplexity_bottom", "background_exact",
            "bottom_codes_on_black_cells", "ssim", "mse"]
    print("| restarts | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for restart, r in results.items():
        print(f"| {restart} | " + " | ".join(str(r[k]) for k in keys) + " |")
    if results:
        first = next(iter(results.values()))
        print(f"black frame: SSIM {first['ssim_black_frame']}, MSE {first['mse_black_frame']}; background "
              f"{first['background_share']:.1%} of pixels, all-black bottom cells {first['black_cells_share']:.1%}")
    if args.out:
        save_result(args.out, "benchmarks/vq_restarts.py", results=results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--restart", choices=VARIANTS, required=True)
    t.add_argument("--minutes", type=float, default=10.0)
    t.add_argument("--runs", type=Path, required=True)
    s = sub.add_parser("summary")
    s.add_argument("--runs", type=Path, required=True)
    s.add_argument("--clips", type=int, default=200)
    s.add_argument("--out")
    args = parser.parse_args()
    (train if args.command == "train" else summary)(args)


if __name__ == "__main__":
    main()
