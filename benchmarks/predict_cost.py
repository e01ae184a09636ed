"""What one `vidpred predict` call costs a user: peak memory (max RSS of the process) and wall time, on a real
video, and the start-up time of the command (`vidpred predict --help`, and a predict that stops at its missing input).

    .venv/bin/python benchmarks/predict_cost.py [--video /usr/share/doc/opencv-doc/examples/data/vtest.avi]
        [--model copy_last] [--horizon 4] [--out benchmarks/results/predict_cost.json]

Each command runs in a fresh subprocess; its max RSS is read with ``resource.getrusage(RUSAGE_CHILDREN)`` after
it ends, by a small process that runs nothing else. OpenCV's samples come with Debian's ``opencv-doc``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from data_loading import save_result  # noqa: E402

VIDPRED = str(Path(sys.executable).with_name("vidpred"))


# A small Python process runs each command and reports its children's peak RSS: measured from this process,
# which has imported torch, the figure would include the pages a forked child shares with it before exec.
PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.stderr.write(r.stderr.decode())")


def measure(argv: list[str], status: int = 0) -> dict:
    """Run ``argv`` once in a fresh process, expecting exit ``status``: wall seconds and peak memory (MiB)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    code, peak = map(int, result.stdout.split())
    if code != status:
        sys.exit(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return {"command": " ".join(Path(a).name if a == VIDPRED else a for a in argv), "seconds": round(seconds, 2),
            "max_rss_mib": round(peak / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", default="/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    parser.add_argument("--model", default="copy_last")
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--out", default="benchmarks/results/predict_cost.json")
    args = parser.parse_args()
    if not Path(args.video).is_file():
        sys.exit(f"{args.video} does not exist (apt-get install opencv-doc, or give --video)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure([VIDPRED, "predict", "--help"]),
                # start-up: the imports, then the input is found missing and the command ends (exit 2)
                measure([VIDPRED, "predict", args.model, "--input", str(Path(tmp) / "missing.mp4"),
                         "--out", str(Path(tmp) / "grid.gif")], status=2),
                measure([VIDPRED, "predict", args.model, "--input", args.video, "--horizon", str(args.horizon),
                         "--out", str(Path(tmp) / "grid.gif")])]
    for row in rows:
        print(f"{row['command']}: {row['seconds']} s, max RSS {row['max_rss_mib']} MiB")
    save_result(args.out, "predict_cost.py", results=rows)


if __name__ == "__main__":
    main()
