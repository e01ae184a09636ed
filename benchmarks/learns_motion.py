"""Can each system learn motion at all? Each at its CPU preset on one-digit Moving MNIST, beside blank and copy-last.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/learns_motion.py train SYSTEM [--minutes 20] [--runs ~/runs/motion]
    .venv/bin/python benchmarks/learns_motion.py summary [--runs ~/runs/motion] [--out benchmarks/results/learns_motion]

SYSTEM is one of s_hr_vqvae, video_vqvae, svg_lp, vrnn (and s_hr_vqvae_no_attention: S-HR without §4.2's attention,
for the cost of that attention at equal budget). ``train`` trains the system's CPU experiment (its config in
``configs/``, the same recipe) on one-digit Moving MNIST (``moving_mnist``, ``num_digits=1``: one digit moving at a
constant velocity and bouncing off the walls, the easiest motion there is) for at most ``--minutes`` minutes of wall
time in all (the budgets are wall-clock, so nothing else should run on its core; the CPU minutes it got are recorded),
split over its stages as below, then evaluates it on the first 200 test sequences with ``vidpred evaluate``: 10
predicted frames after the context of the system's protocol (10 frames for the Moving MNIST systems, 5 for SVG and the
VRNN, as on SM-MNIST), one sample per sequence, beside blank and copy-last (the evaluation computes them on the same
sequences). ``summary`` gathers the evaluations into a JSON and Markdown table (MSE summed over the frame's pixels,
and the headline SSIM of Moving MNIST, uniform 7) and one picture: 4 test sequences, each the truth and every system's
prediction. Run two systems at a time on the two cores, one thread each.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEQUENCES = 200
DIGITS = "data.num_digits=1"

# config, the overrides that make it a one-digit Moving MNIST run, the share of the minutes per stage, and context
SYSTEMS = {
    "s_hr_vqvae": ("configs/mmnist/s_hr_vqvae.yaml", ["stages.codes.train_clips=3000", "stages.codes.test_clips=200",
                                                     "model.prior.attention_every=2"],  # the preset's (§4.2)
                   {"tokenizer": 0.35, "prior": 0.55}, 10),
    "video_vqvae": ("configs/mmnist/video_vqvae.yaml", ["stages.codes.train_clips=3000",
                                                       "stages.codes.test_clips=200"],
                    {"tokenizer": 0.4, "top_prior": 0.2, "bottom_prior": 0.3}, 10),
    "s_hr_vqvae_no_attention": ("configs/mmnist/s_hr_vqvae.yaml", ["stages.codes.train_clips=3000",
                                                               "stages.codes.test_clips=200",
                                                               "model.prior.attention_every=0"],
                                {"tokenizer": 0.35, "prior": 0.55}, 10),
    "svg_lp": ("configs/smmnist/svg_lp.yaml", ["data.name=moving_mnist", "trainer.precision=32-true"], None, 5),
    "vrnn": ("configs/smmnist/vrnn.yaml", ["data.name=moving_mnist"], None, 5),
}
# (the VQ systems keep 10% of the minutes for encoding their training clips into codes between the stages;
# SVG trains in float32, measured 8% faster than bf16 at width 32: docs/RESULTS.md)


def vidpred(*args: str) -> None:
    command = [sys.executable, "-m", "vidpred.cli", *args]
    print("$", "vidpred", *args, flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def train(system: str, minutes: float, runs: Path) -> None:
    config, overrides, stages, context = SYSTEMS[system]
    name = f"motion_{system}"
    budget = ([f"stages.{stage}.max_minutes={share * minutes:.2f}" for stage, share in stages.items()] if stages
              else [f"trainer.max_minutes={minutes}"])
    started, cpu = time.perf_counter(), _child_cpu_seconds()
    vidpred("train", config, f"name={name}", f"runs_dir={runs}", DIGITS, *overrides, *budget)
    trained, cpu = (time.perf_counter() - started) / 60, (_child_cpu_seconds() - cpu) / 60
    run = runs / name
    vidpred("evaluate", "--model", str(run), "--protocol", "mmnist-10-10", "--context", str(context), "--horizon", "10",
            "--samples", "1", "--sequences", str(SEQUENCES), "--out", str(runs / f"eval_{system}"), "--overwrite",
            "num_digits=1")
    (runs / f"eval_{system}" / "training_minutes.json").write_text(
        json.dumps({"minutes": round(trained, 1), "cpu_minutes": round(cpu, 1)}))


def _child_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process's finished children: the budgets are wall-clock, so a run that
    shared its core got less than its minutes."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summary(runs: Path, out: Path) -> None:
    import torch
    from PIL import Image

    from vidpred.data import build_dataset, data_config
    from vidpred.io.grid import GridRow, make_grid
    from vidpred.models.io import load_model

    rows, table = [], []
    test = build_dataset(data_config("moving_mnist", num_frames=20, num_digits=1), "test")
    clips = torch.stack([test[i] for i in range(4)])
    predictions = {}
    for system, (_, _, _, context) in SYSTEMS.items():
        folder = runs / f"eval_{system}"
        if not (folder / "metrics.json").is_file():
            print(f"{system}: no evaluation in {folder}; left out")
            continue
        scored = {"model": folder / "metrics.json", "blank": folder / "baselines" / "blank" / "metrics.json",
                  "copy_last": folder / "baselines" / "copy_last" / "metrics.json"}
        metrics = {name: json.loads(path.read_text())["metrics"] for name, path in scored.items()}
        minutes = json.loads((folder / "training_minutes.json").read_text())
        model = load_model(runs / f"motion_{system}")
        torch.manual_seed(0)
        with torch.no_grad():
            predictions[system] = (context, model.predict(clips[:, 10 - context:10], 10, 1)[:, 0])
        table.append({"system": system, "context": context, "training_minutes": minutes["minutes"],
                      "training_cpu_minutes": minutes.get("cpu_minutes"),
                      **{name: {key: round(m[key]["best"]["mean"], 4) for key in ("mse", "ssim_uniform7", "psnr")}
                         for name, m in metrics.items()}})
    for i in range(4):
        rows.append(GridRow(clips[i], f"sequence {i + 1}: truth", num_context=10))
        for system, (_context, video) in predictions.items():
            rows.append(GridRow(torch.cat([clips[i, :10], video[i]]), system, num_context=10, predicted=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(make_grid(rows)).save(out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps(table, indent=1))
    lines = ["| system | context | training wall / CPU minutes | MSE model / blank / copy-last | SSIM (uniform 7) "
             "model / blank / copy-last |", "|---|---|---|---|---|"]
    for row in table:
        mse = " / ".join(f"{row[k]['mse']:.1f}" for k in ("model", "blank", "copy_last"))
        ssim = " / ".join(f"{row[k]['ssim_uniform7']:.3f}" for k in ("model", "blank", "copy_last"))
        lines.append(f"| {row['system']} | {row['context']} | {row['training_minutes']} / "
                     f"{row['training_cpu_minutes'] or 'not recorded'} | {mse} | {ssim} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out.with_suffix('.png')}, .json, .md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("train")
    one.add_argument("system", choices=sorted(SYSTEMS))
    one.add_argument("--minutes", type=float, default=20.0)
    one.add_argument("--runs", type=Path, default=Path.home() / "runs" / "motion")
    gather = sub.add_parser("summary")
    gather.add_argument("--runs", type=Path, default=Path.home() / "runs" / "motion")
    gather.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "learns_motion")
    args = parser.parse_args()
    if args.command == "train":
        train(args.system, args.minutes, args.runs)
    else:
        summary(args.runs, args.out)


if __name__ == "__main__":
    main()
