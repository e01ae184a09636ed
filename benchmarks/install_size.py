"""What an install of vidpred takes on disk: a fresh virtual environment with torch and vidpred's base
dependencies, then each optional extra added in turn (the size after each, and what it added).

    python benchmarks/install_size.py [--extras tune,wandb,mlflow,hub] [--out benchmarks/results/install_size.json]

It installs from the package index pip is configured with (torch==2.13.0 as the README's `make demo` does) into a
temporary folder, removed at the end; the checkout is installed editable, so the figures are the dependencies'.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def kilobytes(path: Path) -> int:
    return int(subprocess.run(["du", "-sk", str(path)], check=True, capture_output=True, text=True).stdout.split()[0])


def pip(venv: Path, *args: str) -> None:
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", default="tune,wandb,mlflow,hub")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "install_size.json"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vidpred-install-size-"))
    venv = folder / "venv"
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip(venv, "--upgrade", "pip")
        empty = kilobytes(venv)
        pip(venv, "torch==2.13.0")
        pip(venv, "-e", str(ROOT))
        sizes = {"empty venv": empty, "base (torch + vidpred's dependencies)": kilobytes(venv)}
        previous = sizes["base (torch + vidpred's dependencies)"]
        added = {}
        for extra in filter(None, args.extras.split(",")):
            pip(venv, "-e", f"{ROOT}[{extra}]")
            now = kilobytes(venv)
            sizes[f"+ {extra}"] = now
            added[extra] = now - previous
            previous = now
            print(f"+{extra}: {now:,} KB (+{added[extra]:,} KB)", flush=True)
        result = {"kilobytes": sizes, "added_kilobytes": added, "seconds": round(time.perf_counter() - started),
                  "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "python": platform.python_version(), "machine": platform.machine(),
                  "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                           capture_output=True, text=True).stdout.strip()}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(args.out).with_name(f".{Path(args.out).name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        os.replace(tmp, args.out)
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
