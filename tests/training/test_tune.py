"""``vidpred tune``: a tiny study runs, writes its table, plot and best config; resumes after a kill with no trial
lost or repeated; prunes; two processes share one SQLite study; bad input is one sentence before any training."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from vidpred.cli import main
from vidpred.config import ConfigError

optuna = pytest.importorskip("optuna")

from vidpred.training.config import load_experiment  # noqa: E402
from vidpred.training.tune import Tuner, read_space, settings_for  # noqa: E402

# a convlstm of a few hundred parameters at the mmnist-10-10 protocol's frames (64x64, 10 -> 10)
TINY = {"name": "tiny", "model": {"name": "convlstm", "hidden": [4], "kernel_size": 3, "patch_size": 8,
                                  "image_size": 64, "num_context": 10, "num_predicted": 10},
        "data": {"name": "moving_mnist", "num_frames": 20, "num_test": 8},
        "trainer": {"batch_size": 2, "sample_every": 0, "log_every": 1, "max_steps": 4, "checkpoint_every": 1}}
SPACE = {"optim.lr": {"log_uniform": ["1e-4", 1.0e-2]}, "trainer.batch_size": {"choice": [1, 2]}}


def files(tmp_path, space=SPACE, **trainer):
    config = {**TINY, "runs_dir": str(tmp_path / "runs"), "trainer": {**TINY["trainer"], **trainer}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space))
    return tmp_path / "tiny.yaml", tmp_path / "space.yaml"


def command(tmp_path, trials=3, study="s", *extra):
    return ["tune", str(tmp_path / "tiny.yaml"), "--space", str(tmp_path / "space.yaml"), "--trials", str(trials),
            "--study", study, "--protocol", "mmnist-10-10", "--sequences", "2", "--validate-every", "2", *extra]


def trials_of(folder) -> list[dict]:
    with open(folder / "trials.csv", newline="") as file:
        return list(csv.DictReader(file))


def test_a_tiny_study_writes_its_trials_plot_and_best_config(tmp_path, capsys):
    files(tmp_path)
    assert main(command(tmp_path, 3, "s", "--no-prune")) == 0
    folder = tmp_path / "runs" / "s"
    rows = trials_of(folder)
    assert [r["state"] for r in rows] == ["complete"] * 3 and [r["run"] for r in rows] == [
        "trial_0000", "trial_0001", "trial_0002"]
    # the first trial is the config as given (its lr and batch lie in the space), the others are drawn
    assert [r["as_given"] for r in rows] == ["yes", "", ""]
    assert (float(rows[0]["optim.lr"]), rows[0]["trainer.batch_size"]) == (1e-3, "2")
    for row in rows:  # each trial is a run folder, scored on the validation split
        run = folder / "trials" / row["run"]
        assert (run / "model.safetensors").is_file()
        saved = yaml.safe_load((run / "config.yaml").read_text())
        assert saved["optim"]["lr"] == pytest.approx(float(row["optim.lr"]))
        assert saved["trainer"]["val_split"] == "validation"
        objective = json.loads((run / "objective.json").read_text())
        assert objective["split"] == "validation" and objective["value"] == pytest.approx(float(row["ssim_uniform7"]))
    best = max(rows, key=lambda r: float(r["ssim_uniform7"]))
    tuned = load_experiment(folder / "best.yaml")
    assert tuned.name == "tiny_tuned" and tuned.optim.lr == pytest.approx(float(best["optim.lr"]))
    assert tuned.trainer.batch_size == int(best["trainer.batch_size"]) and tuned.trainer.val_split == "test"
    assert (folder / "trials.png").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "blank" in out and "copy_last" in out and "best: trial" in out
    # run again: the study has its 3 trials, nothing more is trained
    assert main(command(tmp_path, 3, "s", "--no-prune")) == 0
    assert len(trials_of(folder)) == 3


def start(tmp_path, *args):
    return subprocess.Popen([sys.executable, "-m", "vidpred.cli", *command(tmp_path, *args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for(path, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT])
def test_a_stopped_study_resumes_with_no_trial_lost_or_repeated(tmp_path, stop):
    files(tmp_path, max_steps=16)
    process = start(tmp_path, 3, "s", "--no-prune")
    second = tmp_path / "runs" / "s" / "trials" / "trial_0001" / "checkpoints" / "last.ckpt"
    wait_for(second, process)
    process.send_signal(stop)
    process.wait(timeout=120)
    folder = tmp_path / "runs" / "s"
    digest = (folder / "trials" / "trial_0000" / "model.safetensors").read_bytes()
    assert main(command(tmp_path, 3, "s", "--no-prune")) == 0
    rows = trials_of(folder)
    finished = [r for r in rows if r["state"] == "complete"]
    assert len(finished) == 3 and len({r["run"] for r in finished}) == 3
    # trial 1 stopped; queued again with its values, it resumed its run folder
    assert rows[1]["state"] == "fail"
    again = next(r for r in rows if r["resumes"] == "1")
    assert again["run"] == "trial_0001" and again["optim.lr"] == rows[1]["optim.lr"]
    assert (folder / "trials" / "trial_0000" / "model.safetensors").read_bytes() == digest  # not trained again
    summary = json.loads((folder / "trials" / "trial_0001" / "logs" / "run_summary.json").read_text())
    assert summary["steps"] == 16


def test_two_processes_share_one_sqlite_study(tmp_path):
    files(tmp_path, max_steps=12, checkpoint_every=6)  # long enough that the later of the two starts before the study is done
    (tmp_path / "runs" / "s").mkdir(parents=True)
    processes = [start(tmp_path, 4, "s", "--no-prune") for _ in range(2)]
    for process in processes:
        assert process.wait(timeout=300) == 0, process.stderr.read()
    rows = trials_of(tmp_path / "runs" / "s")
    assert len(rows) >= 4 and all(r["state"] == "complete" for r in rows)  # the last may overshoot by one
    assert len({r["run"] for r in rows}) == len(rows)
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'runs' / 's' / 'study.db'}")
    pids = {t.user_attrs["pid"] for t in study.trials}
    assert pids == {p.pid for p in processes}  # both worked on it


def test_trials_of_any_batch_validate_every_so_many_clips(tmp_path):
    from vidpred.training.tune import trial_config

    config, _ = files(tmp_path, batch_size=4)
    base_dict = yaml.safe_load(config.read_text())
    for batch, every in ((4, 25), (8, 12), (2, 50), (16, 6)):  # 100 clips: 100 / batch steps, rounded
        cfg = trial_config(base_dict, {"trainer.batch_size": batch}, tmp_path, "t", 100)
        assert (cfg.trainer.batch_size, cfg.trainer.val_every, cfg.trainer.val_split) == (batch, every, "validation")
    assert load_experiment(config).trainer.val_every == 0  # the config itself is left as it was


def test_a_trial_falling_behind_is_pruned(tmp_path):
    config, space = files(tmp_path, space={"optim.lr": {"choice": [0.02, 1.0e-9]}}, max_steps=6)
    settings = settings_for(load_experiment(config), space, "mmnist-10-10", None, 2, 1, 2)
    tuner = Tuner(settings, "p", tmp_path / "runs" / "p", log=lambda line: None)
    for lr in (0.02, 0.02, 1.0e-9):  # two that learn, then one that cannot
        tuner.study.enqueue_trial({"optim.lr": lr})
    tuner.run(3)
    rows = trials_of(tmp_path / "runs" / "p")
    assert [r["state"] for r in rows] == ["complete", "complete", "pruned"]
    pruned = tuner.study.trials[2]
    # reported after 4 and 8 clips (2 and 4 steps of 2): judged from the second report on, and stopped there
    assert list(pruned.intermediate_values) == [4, 8]
    assert json.loads((tmp_path / "runs" / "p" / "trials" / "trial_0002" / "logs" / "run_summary.json")
                      .read_text())["steps"] < 6


@pytest.mark.parametrize("space, message", [
    ({"optim.lr": {"gauss": [0, 1]}}, "'gauss' is not a kind of range"),
    ({"optim.lr": {"log_uniform": [0.01, 0.001]}}, "low below high"),
    ({"optim.lr": {"log_uniform": [0, 0.001]}}, "low bound above 0"),
    ({"optim.lr": [0.1, 0.2]}, "expected one of log_uniform"),
    ({"optim.learning_rate": {"uniform": [0.1, 0.2]}}, "optim.learning_rate = 0.1 is not a valid config"),
    ({"trainer.batch_size": {"int": [0, 4]}}, "trainer.batch_size = 0 is not a valid config"),
])
def test_a_bad_space_is_one_sentence_before_training(tmp_path, capsys, space, message):
    files(tmp_path, space=space)
    assert main(command(tmp_path)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs" / "s" / "trials").exists()


def test_a_protocol_the_model_cannot_take_or_another_study_is_refused(tmp_path, capsys):
    files(tmp_path)
    assert main([*command(tmp_path)[:-6], "--protocol", "smmnist-5-10"]) == 2
    assert "evaluates on stochastic_moving_mnist; the config trains on moving_mnist" in capsys.readouterr().err
    assert main([*command(tmp_path, 1), "--metric", "fvd"]) == 2
    assert "--metric fvd" in capsys.readouterr().err
    assert main(command(tmp_path, 1)) == 0
    (tmp_path / "space.yaml").write_text(yaml.safe_dump({"optim.lr": {"uniform": [0.001, 0.002]}}))
    assert main(command(tmp_path, 2)) == 2
    assert "was started with another space" in capsys.readouterr().err


def test_tune_without_optuna_is_one_sentence(tmp_path, capsys, monkeypatch):
    import importlib.util

    files(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "optuna" else real(name, *a))
    assert main(command(tmp_path)) == 2
    assert "pip install 'vidpred[tune]'" in capsys.readouterr().err


def test_read_space_accepts_yaml_exponents(tmp_path):
    (tmp_path / "space.yaml").write_text("optim.lr: {log_uniform: [1e-4, 3e-3]}\ntrainer.batch_size: {int: [4, 16]}\n")
    lr, batch = read_space(tmp_path / "space.yaml")
    assert lr.values == (1e-4, 3e-3) and lr.log and batch.values == (4, 16) and not batch.log
    assert os.path.exists(tmp_path / "space.yaml")
    with pytest.raises(ConfigError, match="names no config key"):
        (tmp_path / "empty.yaml").write_text("")
        read_space(tmp_path / "empty.yaml")
