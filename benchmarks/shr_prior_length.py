"""How long to train S-HR-VQVAE's prior, judged by arg-max rollouts on a validation slice, beside its NLL
([fidelity] item 4: the two disagree, so the length is chosen by the rollouts).

    .venv/bin/python benchmarks/shr_prior_length.py --run RUN --snapshots RUN/snapshots [--clips 100] \
        [--out benchmarks/results/shr_prior_length.json]
    .venv/bin/python benchmarks/shr_prior_length.py --run pretrained/mmnist_s_hr_vqvae   # its prior as saved

RUN is a finished S-HR-VQVAE run folder (its tokenizer is used as it is); ``--snapshots`` holds copies of the
prior stage's ``last.ckpt`` taken while it trained (any names; each checkpoint's own step is read from it);
without it the prior is scored as saved (its step: ``--step``, for the table). The
validation slice: ``--clips`` Moving MNIST sequences from the *training* distribution (training digits) at
sequence numbers from 1,000,000 on -- never in the codes the prior trains on (the first ``train_clips``) nor in the
test set. For each snapshot: the teacher-forced NLL of the slice's predicted frames' codes (nats per code), and the
arg-max rollout's MSE and SSIM (uniform 7) over the 10 predicted frames beside a black frame's. Prints a Markdown
table and saves JSON.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import save_result  # noqa: E402

VALIDATION_START = 1_000_000


@torch.no_grad()
def score(model, clips: torch.Tensor) -> dict:
    from vidpred.eval.metrics import mse, ssim_uniform7

    k = model.config.context_frames
    nll, predicted = [], []
    for batch in clips.split(50):
        codes = model.tokenizer.encode(batch)
        logits, targets = model.prior.logits(codes, first=k)
        nll.append(F.cross_entropy(logits.float(), targets, reduction="none").flatten(1).mean(1))
        predicted.append(model.predict(batch[:, :k], batch.shape[1] - k)[:, 0])
    predicted, truth = torch.cat(predicted), clips[:, k:]
    return {"nats_per_code": round(torch.cat(nll).mean().item(), 4),
            "mse": round(mse(predicted, truth).mean().item(), 2),
            "ssim_uniform7": round(ssim_uniform7(predicted, truth).mean().item(), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--snapshots", type=Path)
    parser.add_argument("--step", default="as saved")
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--out")
    args = parser.parse_args()
    from vidpred.data import build_dataset
    from vidpred.eval.metrics import mse, ssim_uniform7
    from vidpred.models.io import CONFIG_FILE, load_model
    from vidpred.training.config import load_saved_experiment

    model = load_model(args.run).eval()
    cfg = model.config
    if cfg.name != "s_hr_vqvae":
        raise SystemExit(f"{args.run} is a {cfg.name} run; this measures S-HR-VQVAE's prior")
    train = build_dataset(load_saved_experiment(args.run / CONFIG_FILE).data, "train")
    clips = torch.stack([train[VALIDATION_START + i][:cfg.tokenizer.num_frames] for i in range(args.clips)])
    truth = clips[:, cfg.context_frames:]
    blank = {"mse": round(mse(torch.zeros_like(truth), truth).mean().item(), 2),
             "ssim_uniform7": round(ssim_uniform7(torch.zeros_like(truth), truth).mean().item(), 4)}
    rows = [] if args.snapshots else [{"step": args.step, **score(model, clips)}]
    for path in sorted(args.snapshots.glob("*.ckpt")) if args.snapshots else []:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = {key.removeprefix("model."): value for key, value in checkpoint["state_dict"].items()}
        model.prior.load_state_dict(state)
        rows.append({"step": checkpoint["global_step"], **score(model, clips)})
        print(rows[-1], file=sys.stderr)
    rows.sort(key=lambda row: str(row["step"]).zfill(12))
    print("| prior step | validation NLL (nats/code) | rollout MSE | rollout SSIM |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['step']} | {row['nats_per_code']} | {row['mse']} | {row['ssim_uniform7']} |")
    print(f"| blank | | {blank['mse']} | {blank['ssim_uniform7']} |")
    if args.out:
        save_result(args.out, "benchmarks/shr_prior_length.py", run=str(args.run), clips=args.clips,
                    validation_start=VALIDATION_START, snapshots=rows, blank=blank)


if __name__ == "__main__":
    main()
