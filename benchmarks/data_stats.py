"""How many clips the training-data intensity record (``data_stats``) needs, and what it costs.

    .venv/bin/python benchmarks/data_stats.py [--clips 32 128] [--out benchmarks/results/data_stats.json]

For each data set, ``intensity_stats`` is measured on N training clips (what ``vidpred train`` records when a run
begins) and timed; then every test clip of the same data set is checked against it as ``vidpred predict`` checks its
input (``unlike_training_data``): the share flagged is the false-warning rate (in domain, it should be 0), and the
clips of the other data sets are checked too (out of domain, every one should be flagged).
"""
from __future__ import annotations

import argparse
import time

import torch

from data_loading import save_result
from vidpred.data import build_dataset, data_config
from vidpred.data.base import intensity_stats, unlike_training_data

DATA = {  # name: (fields, test clips checked)
    "moving_mnist": ({"num_test": 500}, 500),
    "stochastic_moving_mnist": ({"num_test": 500, "num_frames": 25}, 500),
    "sample_clips": ({"num_frames": 16, "channels": 3}, None),
}


def flagged(stats: dict, dataset, grey: bool, limit: int | None) -> float:
    count = len(dataset) if limit is None else min(limit, len(dataset))
    hits = sum(unlike_training_data(dataset[i], grey, stats) is not None for i in range(count))
    return hits / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--out", default="benchmarks/results/data_stats.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tests = {name: build_dataset(data_config(name, **fields), "test") for name, (fields, _) in DATA.items()}
    rows = []
    for name, (fields, limit) in DATA.items():
        train = build_dataset(data_config(name, **fields), "train")
        grey = data_config(name, **fields).channels == 1
        for clips in args.clips:
            started = time.perf_counter()
            stats = {"name": name, "channels": 1 if grey else 3, **intensity_stats(train, clips)}
            seconds = time.perf_counter() - started
            row = {"data": name, "clips": clips, "seconds": round(seconds, 2), "stats": stats,
                   "false_warnings_in_domain": flagged(stats, tests[name], grey, limit),
                   "flagged_out_of_domain": {other: flagged(stats, data, data_config(other, **DATA[other][0]).channels
                                                            == 1, 200)
                                             for other, data in tests.items() if other != name}}
            rows.append(row)
            print(f"{name}, {clips} clips: {seconds:.2f} s, mean {stats['mean_intensity']}, range "
                  f"{stats['clip_mean_range']}, in-domain test clips flagged {row['false_warnings_in_domain']:.1%}, "
                  + ", ".join(f"{o} flagged {v:.0%}" for o, v in row["flagged_out_of_domain"].items()))
    save_result(args.out, "data_stats.py", results=rows)


if __name__ == "__main__":
    main()
