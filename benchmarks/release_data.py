"""Can the CPU generate the release experiments' training clips as fast as a GPU trains on them?

    .venv/bin/python benchmarks/release_data.py [--batches 20] [--out benchmarks/results/release_data.json]

For each ``configs/release/*.yaml``: the training clips per second one CPU core generates for it (its data set, its
clip length: the loader's exact path, ``ResumableLoader`` with no worker process, one torch thread), and what that
means at its batch size -- the optimizer steps per second one worker feeds, and with the config's ``num_workers``.
The GPU's own steps per second are the release run's to measure (its summary); this says where the data would
become the limit.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from data_loading import save_result  # noqa: E402
from vidpred.data import build_dataset  # noqa: E402
from vidpred.training.config import load_experiment  # noqa: E402
from vidpred.training.loader import ResumableLoader  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--out", default="benchmarks/results/release_data.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for path in sorted((ROOT / "configs" / "release").glob("*.yaml")):
        cfg = load_experiment(path)
        batch = cfg.trainer.batch_size
        loader = ResumableLoader(build_dataset(cfg.data, "train"), batch, args.batches + 1)
        batches = iter(loader)
        next(batches)  # the first batch opens the digits
        started = time.perf_counter()
        for _ in range(args.batches):
            next(batches)
        seconds = time.perf_counter() - started
        clips = args.batches * batch / seconds
        rows.append({"config": path.name, "data": cfg.data.name, "frames": cfg.data.num_frames, "batch_size": batch,
                     "clips_per_second_one_core": round(clips, 1),
                     "steps_per_second_one_worker": round(clips / batch, 2),
                     "num_workers": cfg.trainer.num_workers,
                     "steps_per_second_with_its_workers": round(clips / batch * max(1, cfg.trainer.num_workers), 1)})
        print(f"{path.name}: {cfg.data.name} x {cfg.data.num_frames} frames, {clips:.0f} clips/s on one core = "
              f"{clips / batch:.1f} steps/s of {batch}; {cfg.trainer.num_workers} workers: "
              f"{clips / batch * max(1, cfg.trainer.num_workers):.1f} steps/s")
    save_result(args.out, "release_data.py", results=rows)


if __name__ == "__main__":
    main()
