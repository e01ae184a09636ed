"""Response times of the study server under the load test's load: 20 concurrent raters, 500 judgements.

    .venv/bin/python benchmarks/study_load.py [--raters 20] [--judgements 500] [--repeats 3]
        [--out benchmarks/results/study_load.json]

Each repeat makes a fresh study of 25 pairs in a temporary folder, starts `vidpred study serve` on a free loopback
port (uvicorn, one process), and runs ``vidpred.study.loadtest.run_load`` from this process: each rater a thread
with its own keep-alive connection; every 10th answer is sent twice. A response time is one HTTP request's, from
sending to the whole answer read (a judgement's answer carries the next pair). Reports the median, 90th and 99th
percentile over all requests of all repeats, and checks that none was lost or doubled. Server and clients share
this machine's cores.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import save_result  # noqa: E402
from vidpred.study.app import free_port, start_server  # noqa: E402
from vidpred.study.loadtest import run_load  # noqa: E402
from vidpred.study.store import StudyStore  # noqa: E402


def one_run(raters: int, judgements: int) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as folder:
        pairs = [{"clip_id": f"{i:05d}", "sample": 0, "context": f"{i:016x}", "a": f"{100 + i:016x}",
                  "b": f"{200 + i:016x}"} for i in range(-(-judgements // raters))]
        store = StudyStore.create(folder, {"a": "A", "b": "B", "protocol": "benchmark"}, pairs)
        port = free_port()
        server = start_server(folder, port)
        try:
            started = time.perf_counter()
            result = run_load("127.0.0.1", port, raters=raters, judgements=judgements)
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait()
        stored = store.judgements()
        if result.errors or len(stored) != judgements or len({(j["rater"], j["pair"]) for j in stored}) != judgements:
            raise SystemExit(f"lost or doubled judgements: {result.errors[:3]}, {len(stored)} stored")
        return result.seconds, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--judgements", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/study_load.json")
    args = parser.parse_args()
    seconds, walls = [], []
    for _ in range(args.repeats):
        times, wall = one_run(args.raters, args.judgements)
        seconds += times
        walls.append(wall)
    ms = np.array(seconds) * 1000
    summary = {"requests": len(ms), "median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
               "p99_ms": float(np.percentile(ms, 99)),
               "judgements_per_second": args.judgements / float(np.median(walls)),
               "raters": args.raters, "judgements": args.judgements, "repeats": args.repeats}
    print(", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()))
    save_result(args.out, "study_load.py", **summary)


if __name__ == "__main__":
    main()
