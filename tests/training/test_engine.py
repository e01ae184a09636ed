"""The training engine: run folder, checkpoint -> load -> predict, resume after SIGKILL, DDP, NaN guard."""
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

from vidpred.config import ConfigError
from vidpred.models.base import LossOutput, ModelConfig, ModelSpec, Predictor
from vidpred.models.io import load_model, training_data
from vidpred.models.registry import MODELS, register_model
from vidpred.training.config import load_experiment
from vidpred.training.errors import NonFiniteLoss
from vidpred.training.runner import train, train_predictor

VIDPRED = str(Path(sys.executable).with_name("vidpred"))
TINY = {
    "name": "tiny",
    "model": {"name": "convlstm", "hidden": [4], "kernel_size": 3, "patch_size": 4, "image_size": 32,
              "num_context": 2, "num_predicted": 2},
    "data": {"name": "moving_mnist", "image_size": 32, "digit_size": 16, "num_frames": 4, "num_test": 8},
    "trainer": {"max_steps": 2, "batch_size": 2, "checkpoint_every": 1, "sample_every": 1, "log_every": 1,
                "accelerator": "cpu"},
}


def tiny(tmp_path, **sections) -> dict:
    cfg = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY.items()}
    cfg["runs_dir"] = str(tmp_path / "runs")
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def write_config(tmp_path, cfg: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_two_steps_checkpoint_load_predict_matches_memory(tmp_path):
    cfg = load_experiment(base=tiny(tmp_path))
    folder = tmp_path / "runs" / "tiny"
    trained = train_predictor(cfg, folder)
    for item in ("checkpoints/last.ckpt", "model.safetensors", "config.yaml", "samples/step_000002.gif"):
        assert (folder / item).is_file(), item
    assert (folder / "logs" / "csv" / "metrics.csv").is_file() and list((folder / "logs" / "tensorboard").glob("events*"))
    summary = yaml.safe_load((folder / "logs" / "run_summary.json").read_text())
    assert summary["steps"] == 2 and summary["peak_memory_mib"] > 0 and summary["steps_per_second_this_session"] > 0
    loaded = load_model(folder)
    context = torch.rand(2, 2, 1, 32, 32)
    assert torch.equal(loaded.predict(context, 3), trained.eval().predict(context, 3))
    checkpoint = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 2 and checkpoint["vidpred"]["batches_trained"] == 2
    state = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
    assert all(torch.equal(state[k], v) for k, v in loaded.state_dict().items())


def test_a_time_budget_counts_the_time_spent_before_a_resume(tmp_path):
    from types import SimpleNamespace

    from vidpred.training.callbacks import TimeBudget

    # the time spent travels in the checkpoint
    cfg = load_experiment(base=tiny(tmp_path, trainer={"max_minutes": 60.0, "budget_clock": "cpu"}))
    train_predictor(cfg, tmp_path / "runs" / "tiny")
    saved = torch.load(tmp_path / "runs" / "tiny" / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]
    spent = next(v["spent_seconds"] for k, v in saved.items() if "TimeBudget" in k)
    assert 0 < spent < 60
    # and counts towards the budget of the resumed run: 59 of 60 seconds spent, then one more is over
    trainer = SimpleNamespace(world_size=1, should_stop=False, accumulate_grad_batches=1)
    step = SimpleNamespace(batches_trained=1)
    for before, over in ((0.0, False), (59.0, True)):
        budget = TimeBudget(1.0, "cpu")
        budget.load_state_dict({"spent_seconds": before})
        budget.on_train_start(trainer, step)
        started = time.process_time()
        while time.process_time() - started < 1.1:
            pass
        trainer.should_stop = False
        budget.on_train_batch_end(trainer, step, None, None, 0)
        assert trainer.should_stop is over


def test_rerun_skips_finished_stage_and_refuses_another_config(tmp_path, capsys):
    cfg = load_experiment(base=tiny(tmp_path))
    train(cfg)
    # the run measured its training data's intensity once, and the published model carries it
    stats = yaml.safe_load((tmp_path / "runs" / "tiny" / "config.yaml").read_text())["data_stats"]
    low, high = stats["clip_mean_range"]
    assert 0 < low <= stats["mean_intensity"] <= high < 0.2 and stats["clips_measured"] == 128
    assert training_data(tmp_path / "runs" / "tiny") == {"name": TINY["data"]["name"], "channels": 1, **stats}
    capsys.readouterr()
    train(cfg)
    assert "stage 'train' of tiny is finished; skipping it" in capsys.readouterr().err
    other = load_experiment(base=tiny(tmp_path, optim={"lr": 0.5}))
    with pytest.raises(ConfigError, match=r"holds a run with another config \(optim.lr differ\)"):
        train(other)
    fewer = load_experiment(base=tiny(tmp_path, trainer={"max_steps": 1}))
    with pytest.raises(ConfigError, match=r"stage 'train' would have max_steps 1 instead of 2; a run's budget can only grow"):
        train(fewer)


def test_a_finished_run_trains_further_when_its_budget_grows_and_its_log_keeps_every_attempt(tmp_path, capsys):
    import csv

    train(load_experiment(base=tiny(tmp_path)))
    folder = tmp_path / "runs" / "tiny"
    log = folder / "logs" / "csv" / "metrics.csv"
    first = list(csv.DictReader(log.open()))
    capsys.readouterr()
    train(load_experiment(base=tiny(tmp_path, trainer={"max_steps": 4})))
    err = capsys.readouterr().err
    assert "stage 'train' of tiny continues with a larger budget (trainer.max_steps 2 -> 4)" in err
    assert "resuming tiny from" in err and "will be deleted" not in err
    assert torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 4
    rows = list(csv.DictReader(log.open()))
    assert rows[:len(first)] == first and len(rows) > len(first)  # the first attempt's rows, then the second's
    assert {int(r["step"]) for r in rows if r.get("train/loss")} >= {0, 1, 2, 3}


def test_unknown_names_list_the_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="unknown model 'convlstmm'; known models: .*convlstm"):
        load_experiment(base=tiny(tmp_path, model={"name": "convlstmm"}))
    with pytest.raises(ConfigError, match="unknown data set 'mmnist'; known data sets: bair, kth, moving_mnist"):
        load_experiment(base=tiny(tmp_path, data={"name": "mmnist"}))
    with pytest.raises(ConfigError, match=r"data.num_frames is 4; the model trains on 2 \+ 3 = 5 frames"):
        load_experiment(base=tiny(tmp_path, model={"num_predicted": 3}))


def _digest(folder: Path) -> str:
    return (folder / "logs" / "weights_digest_rank0.txt").read_text().strip()


def test_resume_after_sigkill_reproduces_uninterrupted_weights(tmp_path, killed_at_first_checkpoint):
    settings = {"max_steps": 24, "checkpoint_every": 4, "sample_every": 0, "deterministic": True,
                "batch_size": 4}
    config = write_config(tmp_path, tiny(tmp_path, trainer=settings))
    subprocess.run([VIDPRED, "train", str(config), "name=whole"], check=True, capture_output=True)
    command = [VIDPRED, "train", str(config), "name=killed"]
    checkpoint = tmp_path / "runs" / "killed" / "checkpoints" / "last.ckpt"
    killed_at = killed_at_first_checkpoint(command, checkpoint)["global_step"]
    assert 0 < killed_at < 24, "the run was not interrupted mid-training"
    assert not (tmp_path / "runs" / "killed" / "model.safetensors").exists()
    resumed = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "resuming killed from" in resumed.stderr
    assert _digest(tmp_path / "runs" / "killed") == _digest(tmp_path / "runs" / "whole")


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="needs torchrun")
def test_ddp_two_cpu_processes_agree(tmp_path):
    config = write_config(tmp_path, tiny(tmp_path, trainer={"max_steps": 3, "strategy": "ddp", "devices": 2,
                                                            "sample_every": 0}))
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", VIDPRED, "train", str(config)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    logs = tmp_path / "runs" / "tiny" / "logs"
    rank0, rank1 = (logs / "weights_digest_rank0.txt").read_text(), (logs / "weights_digest_rank1.txt").read_text()
    assert rank0 == rank1
    assert torch.load(tmp_path / "runs" / "tiny" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 3


@dataclass
class ExplodingConfig(ModelConfig):
    name: str = "exploding_test_model"


class Exploding(Predictor):
    """Its loss turns NaN at the fourth step."""

    def __init__(self, config):
        super().__init__(config)
        self.weight = torch.nn.Parameter(torch.ones(()))
        self.calls = 0

    def loss(self, batch):
        self.calls += 1
        value = (self.weight * batch).mean()
        return LossOutput(value * float("nan") if self.calls >= 4 else value)

    def _predict(self, context, horizon, num_samples, generator, temperature):
        return context[:, -1:].unsqueeze(1).expand(-1, num_samples, horizon, -1, -1, -1)


@pytest.mark.parametrize("deferred", [False, True])
def test_nan_loss_stops_with_a_clear_message_and_keeps_last_good_checkpoint(tmp_path, monkeypatch, deferred):
    from vidpred.training.module import TrainingModule

    # deferred: as on an accelerator, where the loss is not read each step (a flag on the device, read at logged
    # steps and before checkpoints); forced here on the CPU
    monkeypatch.setattr(TrainingModule, "defer_finite_check", deferred)
    if "exploding_test_model" not in MODELS:
        register_model(ModelSpec("exploding_test_model", ExplodingConfig, Exploding, "test only"))
    base = tiny(tmp_path, trainer={"max_steps": 10, "checkpoint_every": 2, "sample_every": 0, "log_every": 3})
    base["model"] = {"name": "exploding_test_model", "image_size": 32, "num_context": 2, "num_predicted": 2}
    cfg = load_experiment(base=base)
    message = "NaN or infinite at step 4" if deferred else "nan at step 4"  # read at the checkpoint of step 4
    try:
        with pytest.raises(NonFiniteLoss, match=rf"the training loss became {message}; the run stopped and kept"):
            train(cfg)
    finally:
        MODELS.pop("exploding_test_model")
    folder = tmp_path / "runs" / "tiny"
    assert torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2
    assert not (folder / "model.safetensors").exists() and not (folder / "stages" / "train.done").exists()


def test_a_stage_sets_its_own_schedule_over_its_own_steps(tmp_path):
    from vidpred.training.module import optimizer_and_scheduler
    from vidpred.training.stages import stage_config

    def staged(**stages):
        cfg = tiny(tmp_path, data={"num_frames": 8}, stages=stages)
        cfg["model"] = {"preset": "s_hr_vqvae_tiny"}
        return write_config(tmp_path, cfg)

    cfg = load_experiment(staged(prior={"scheduler": "cosine", "max_steps": 10, "lr": 0.01}))
    assert cfg.optim.scheduler == "constant"  # the experiment's, which other stages keep
    stage = stage_config(cfg, "prior")
    assert stage.optim.scheduler == "cosine" and stage.trainer.max_steps == 10 and stage.optim.lr == 0.01
    assert stage_config(cfg, "tokenizer").optim.scheduler == "constant"
    optimizer, scheduler = optimizer_and_scheduler([torch.nn.Parameter(torch.zeros(1))], stage)
    rates = []
    for _ in range(11):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.01) and rates[5] == pytest.approx(0.005) and rates[10] == pytest.approx(0)
    with pytest.raises(ConfigError, match="scheduler"):
        load_experiment(staged(prior={"scheduler": "linear"}))


def test_a_staged_run_reopens_only_the_stage_whose_budget_grew(tmp_path):
    """A larger budget for the last finished stage reopens it; for a stage that later stages were built on it is
    refused (no training here: the stage marks say what is finished)."""
    from vidpred.config import to_dict
    from vidpred.training.runner import _reopen_for_a_larger_budget

    base = {"name": "shr", "runs_dir": str(tmp_path / "runs"), "model": {"preset": "s_hr_vqvae_tiny"},
            "data": {"name": "moving_mnist", "num_test": 6, "image_size": 32, "num_frames": 8},
            "trainer": {"max_steps": 2, "batch_size": 2}}
    before = to_dict(load_experiment(base=base))
    stages = tmp_path / "runs" / "shr" / "stages"
    stages.mkdir(parents=True)
    for name in ("tokenizer", "codes", "prior"):
        (stages / f"{name}.done").write_text("finished\n")
    longer_prior = load_experiment(base={**base, "stages": {"prior": {"max_steps": 5}}})
    _reopen_for_a_larger_budget(stages.parent, before, longer_prior)
    assert sorted(p.name for p in stages.iterdir()) == ["codes.done", "tokenizer.done"]
    longer_tokenizer = load_experiment(base={**base, "stages": {"tokenizer": {"max_steps": 9}}})
    (stages / "prior.done").write_text("finished\n")
    with pytest.raises(ConfigError, match=r"stage 'tokenizer' would train longer, but the finished stages codes, "
                                          r"prior were built on it"):
        _reopen_for_a_larger_budget(stages.parent, before, longer_tokenizer)


def test_accumulated_batches_train_like_one_batch_of_their_size(tmp_path):
    """Two batches of 2 per step give the weights one batch of 4 gives (the model has no batch statistics)."""
    whole = train_predictor(load_experiment(base=tiny(tmp_path, name="whole", trainer={"batch_size": 4})),
                            tmp_path / "whole")
    halves = train_predictor(load_experiment(base=tiny(tmp_path, name="halves",
                                                       trainer={"batch_size": 2, "accumulate_batches": 2})),
                             tmp_path / "halves")
    for (name, a), b in zip(whole.state_dict().items(), halves.state_dict().values()):
        if a.is_floating_point():
            assert torch.allclose(a, b, atol=1e-6), name
    assert not torch.equal(whole.state_dict()["decoder.weight"], build_untrained()["decoder.weight"])


def build_untrained() -> dict:
    from vidpred.models.io import build_model

    cfg = load_experiment(base=tiny(Path("unused")))
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model).state_dict()


def test_an_unfinished_run_is_exported_from_its_last_checkpoint(tmp_path, capsys):
    from vidpred.cli import main

    cfg = load_experiment(base=tiny(tmp_path))
    folder = train(cfg)
    published = load_model(folder)
    (folder / "model.safetensors").unlink()  # as a run stopped with Ctrl-C leaves it
    assert main(["export", str(folder), "--out", str(tmp_path / "exported")]) == 0
    assert "has not finished training; exporting its last checkpoint (step 2)" in capsys.readouterr().err
    exported = load_model(tmp_path / "exported")
    assert all(torch.equal(a, b) for a, b in zip(exported.state_dict().values(), published.state_dict().values()))
    assert training_data(tmp_path / "exported")["clips_measured"] == 128  # the run's config travels with it


def test_a_run_starts_from_saved_weights_built_like_its_model_and_refuses_others(tmp_path, capsys):
    source = train(load_experiment(base=tiny(tmp_path)))
    tuned = train(load_experiment(base=tiny(tmp_path, name="tuned", optim={"lr": 1e-30},
                                            trainer={"init_from": str(source), "max_steps": 1})))
    assert f"starting from the weights in {source}" in capsys.readouterr().err
    # a vanishing lr leaves the start unchanged: the fine-tuned weights are the source's, not a fresh initialisation, and
    # the model's count of training batches (what drives warm-ups) goes on from the source's
    after, before = load_model(tuned).state_dict(), load_model(source).state_dict()
    assert after.pop("train_steps") == before.pop("train_steps") + 1 == 3
    assert all(torch.allclose(after[k], before[k], rtol=0, atol=1e-20) for k in before)
    shutil.rmtree(source)  # the run has its own checkpoint now: running it again does not need the source
    assert train(load_experiment(base=tiny(tmp_path, name="tuned", optim={"lr": 1e-30},
                                           trainer={"init_from": str(source), "max_steps": 1}))) == tuned
    source = train(load_experiment(base=tiny(tmp_path)))
    wider = load_experiment(base=tiny(tmp_path, name="wider", model={"hidden": [8]},
                                      trainer={"init_from": str(source)}))
    with pytest.raises(ConfigError, match=r"holds a model with another config \(hidden differ\)"):
        train(wider)
    assert not (tmp_path / "runs" / "wider").exists()  # refused before the run folder was begun
    missing = load_experiment(base=tiny(tmp_path, name="none", trainer={"init_from": str(tmp_path / "nowhere")}))
    with pytest.raises(ConfigError, match="nowhere is not a saved model: it needs config.yaml and model.safetensors"):
        train(missing)


class _Reconstructs(torch.nn.Module):
    """A stand-in tokenizer whose reconstruction is ``fn(clips)``."""

    num_frames = 4  # the tiny config's clips

    def __init__(self, fn):
        super().__init__()
        self.fn, self.weight = fn, torch.nn.Parameter(torch.zeros(1))

    def reconstruct(self, clips):
        return self.fn(clips)


def test_the_tokenizer_stage_reports_held_out_ssim_and_warns_below_a_black_frame(tmp_path, capsys):
    """[fidelity 7] before any prior trains on a tokenizer's codes, its reconstruction SSIM on held-out clips is
    printed beside a black frame's, with a one-line warning when it is no better."""
    from vidpred.training.stages import check_reconstruction

    cfg = load_experiment(base=tiny(tmp_path))
    perfect = check_reconstruction(_Reconstructs(lambda clips: clips), cfg)
    out = capsys.readouterr().err
    assert perfect["tokenizer"] == pytest.approx(1.0) and perfect["black frame"] < 0.9
    assert "reconstructs 8 held-out clips at SSIM 1.000" in out and "warning" not in out
    white = check_reconstruction(_Reconstructs(torch.ones_like), cfg)
    out = capsys.readouterr().err
    assert white["tokenizer"] < white["black frame"]
    assert out.count("\n") == 2 and "warning: the tokenizer reconstructs held-out clips no better than a black" in out
