"""Experiment trackers (``trainer.loggers``): a short run logs its metrics, config and sample pictures to wandb
(offline) and MLflow; a resumed run continues the same tracker run; a tracker not installed is one sentence."""
import struct

import pytest

from vidpred.config import ConfigError
from vidpred.training.config import load_experiment
from vidpred.training.runner import train

TINY = {"name": "tiny", "model": {"name": "convlstm", "hidden": [4], "kernel_size": 3, "patch_size": 4,
                                  "image_size": 32, "num_context": 2, "num_predicted": 2},
        "data": {"name": "moving_mnist", "image_size": 32, "digit_size": 16, "num_frames": 4, "num_test": 8}}


def tiny_run(tmp_path, loggers, **trainer):
    return load_experiment(base={**TINY, "runs_dir": str(tmp_path / "runs"), "trainer": {
        "batch_size": 2, "max_steps": 4, "sample_every": 2, "log_every": 1, "loggers": loggers, **trainer}})


def wandb_records(path):
    """The records of a wandb run file (``run-ID.wandb``: a 7-byte header, then LevelDB-style log records in 32 KiB
    blocks, each a protobuf ``Record``) -- read here because wandb no longer ships a Python reader."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    position, parts = 7, b""
    while position + 7 <= len(data):
        left = 32768 - position % 32768
        if left < 7:  # a block's tail too short for a record header is padding
            position += left
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[position:position + 7])
        parts += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts)
            parts = b""
            yield record


@pytest.fixture
def wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):  # nothing written to the home folder
        monkeypatch.setenv(name, str(tmp_path / "wandb-home" / name))


def test_wandb_offline_run_holds_metrics_config_and_samples(tmp_path, wandb_offline):
    cfg = tiny_run(tmp_path, ["csv", "wandb"], tracking={"project": "p", "run_name": "first", "tags": ["cpu"]})
    folder = train(cfg)
    runs = list((folder / "logs" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1
    records = list(wandb_records(runs[0]))
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert (run.project, run.display_name, list(run.tags)) == ("p", "first", ["cpu"])
    config = {u.key or "/".join(u.nested_key): u.value_json for r in records if r.HasField("config")
              for u in r.config.update}
    assert config["optim/lr"] == "0.001" and config["trainer/batch_size"] == "2"
    history = [{i.key or "/".join(i.nested_key): i.value_json for i in r.history.item} for r in records
               if r.HasField("history")]
    steps = sorted({int(h["trainer/global_step"]) for h in history if "train/loss" in h})
    assert steps == [0, 1, 2, 3]
    pictures = [h for h in history if "samples/_type" in h]
    assert len(pictures) == 2  # steps 2 and 4
    assert len(list(runs[0].parent.glob("files/media/images/samples_*.png"))) == 2

    # more steps: the same wandb run continues (its id is kept in the run folder)
    train(tiny_run(tmp_path, ["csv", "wandb"], max_steps=6,
                   tracking={"project": "p", "run_name": "first", "tags": ["cpu"]}))
    again = list((folder / "logs" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(again) == 2 and len({path.name for path in again}) == 1


def test_mlflow_run_holds_metrics_config_and_samples_in_the_run_folder(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory
    folder = train(tiny_run(tmp_path, ["mlflow"], tracking={"project": "p", "tags": ["cpu"]}))
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{folder / 'logs' / 'mlflow.db'}")
    run = client.get_run((folder / "logs" / "mlflow_run_id.txt").read_text().strip())
    assert run.data.params["optim/lr"] == "0.001" and "cpu" in run.data.tags
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [0, 1, 2, 3]
    assert sorted(p.name for p in folder.glob("logs/mlartifacts/*/artifacts/samples/*.png")) == \
        ["step_000002.png", "step_000004.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_unknown_or_missing_tracker_is_one_sentence_before_training(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="'comet' is not a tracker vidpred knows"):
        tiny_run(tmp_path, ["csv", "comet"])
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ConfigError, match=r"wandb is not installed; pip install 'vidpred\[wandb\]'"):
        tiny_run(tmp_path, ["wandb"])
    assert not (tmp_path / "runs").exists()


def test_no_logger_at_all_trains(tmp_path):
    folder = train(tiny_run(tmp_path, []))
    assert (folder / "model.safetensors").is_file() and not (folder / "logs" / "csv").exists()
