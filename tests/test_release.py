"""The GPU release command rehearsed on the CPU (``benchmarks/release.py --smoke``): every phase end to end -- the
checks, the four release experiments trained a few steps, float16 exports, evaluations beside both baselines, the
packing within what the lent machine sends back, and the unpacking here -- with PyAV, starlette, uvicorn and
mlxtend made unimportable, as they are on that machine (its image has none of them; KINDS.md of the device tool)."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]
BLOCKED = ("av", "starlette", "uvicorn", "mlxtend")  # not on the GPU machine (FACTS.md)


def test_the_release_rehearsal_runs_every_phase_without_the_packages_the_gpu_machine_lacks(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    # imported at start-up by every Python process that has this folder on its path: the release command and each
    # vidpred command it starts
    (blocker / "sitecustomize.py").write_text(f"import sys\nfor name in {BLOCKED!r}:\n    sys.modules[name] = None\n")
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(blocker), "HOME": str(tmp_path)}
    assert subprocess.run([sys.executable, "-c", "import av"], env=env, capture_output=True).returncode != 0
    out, work = tmp_path / "out", tmp_path / "work"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "release.py"), "--smoke", "--out", str(out),
                           "--work", str(work)], env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert {name: check["ok"] for name, check in summary["checks"].items()} == {
        "tests": True, "predict smmnist_vrnn": True, "evaluate smmnist_vrnn": True, "train and resume": True}
    systems = summary["systems"]
    assert set(systems) == {"mmnist_s_hr_vqvae", "mmnist_video_vqvae", "smmnist_svg_lp", "smmnist_vrnn"}
    for name, entry in systems.items():
        assert entry["status"] == "exported" and not entry["stages_missing"], (name, entry)
        assert set(entry["metrics"]) == {"model", "blank", "copy_last"}, name
        assert all(stage["steps"] == 2 for stage in entry["stages"].values()), name
    # the float16 exports at the release sizes: they fit pretrained/'s 60 MB together
    assert sum(entry["export_bytes"] for entry in systems.values()) < 60e6
    returned = [p for p in out.iterdir()]
    assert len(returned) <= 8 and all(p.stat().st_size <= 16 * 2**20 for p in returned)
    assert sum(p.stat().st_size for p in returned) <= 64 * 2**20
    assert "| smmnist_vrnn | exported |" in (out / "summary.md").read_text()
    # back here: the parts join into the archive, whose exports are the ones trained, loadable
    back = tmp_path / "back"
    unpacked = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "release.py"), "unpack", str(out), "--into",
                               str(back)], env=env, capture_output=True, text=True, timeout=120)
    assert unpacked.returncode == 0, unpacked.stderr
    for name in systems:
        weights = [(folder / name / "model.safetensors").read_bytes() for folder in (back, work / "export")]
        assert hashlib.sha256(weights[0]).digest() == hashlib.sha256(weights[1]).digest()
        assert (back / name / "evaluation" / "metrics.json").is_file()
        config = yaml.safe_load((back / name / "config.yaml").read_text())
        assert config["name"] == name


def test_the_release_configs_build_their_models_at_sizes_that_fit_pretrained():
    from vidpred.models.io import build_model
    from vidpred.training.config import load_experiment

    sizes = {}
    for path in sorted((ROOT / "configs" / "release").glob("*.yaml")):
        cfg = load_experiment(path)
        assert cfg.trainer.precision == "bf16-mixed" and (cfg.trainer.max_minutes or cfg.stages), path.name
        sizes[path.stem] = 2 * sum(p.numel() for p in build_model(cfg.model).parameters())  # float16 bytes
    assert set(sizes) == {"mmnist_s_hr_vqvae", "mmnist_video_vqvae", "smmnist_svg_lp", "smmnist_vrnn"}
    assert sum(sizes.values()) < 60e6 and sizes["smmnist_svg_lp"] == 2 * 12_614_057  # SVG-LP at the paper's size
