"""Every failure of the command line is one sentence with exit status 2 (130 for Ctrl-C), checked before long
work, and leaves no partial output. Most tests run the real command in a subprocess, as a user would."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from vidpred.cli import main

VIDPRED = str(Path(sys.executable).with_name("vidpred"))
PRETRAINED = Path(__file__).parents[1] / "pretrained" / "mmnist_s_hr_vqvae"


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([VIDPRED, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def one_sentence(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The command's stderr, asserted to be one line (no traceback) with exit status ``code``."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder this process cannot write in: read-only by mode, or, as root (whom modes do not stop), a folder
    of a read-only file system."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").write_text("x")
    except OSError:
        yield folder
        folder.chmod(0o755)
        return
    (folder / "probe").unlink()
    folder.chmod(0o755)
    if not Path("/sys").is_dir() or os.access("/sys", os.W_OK) and _writable("/sys"):
        pytest.skip("no read-only folder can be made here")
    yield Path("/sys")


def _writable(folder: str) -> bool:
    try:
        with open(Path(folder) / "vidpred_probe", "w"):
            pass
    except OSError:
        return False
    os.unlink(Path(folder) / "vidpred_probe")
    return True


def test_every_verb_refuses_an_unwritable_output_before_any_work(unwritable, tmp_path):
    store = unwritable / "store"
    commands = {
        "predict": ["predict", str(PRETRAINED), "--input", "data:moving_mnist:0", "--out", str(unwritable / "p.gif"),
                    "num_test=2"],
        "evaluate": ["evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--out", str(store)],
        "data show": ["data", "show", "moving_mnist", "--out", str(unwritable / "g.gif")],
        "data prepare": ["data", "prepare", "moving_mnist", "--out", str(store)],
        "report": ["report", str(tmp_path), "--out", str(store)],
        "export": ["export", str(PRETRAINED), "--out", str(store)],
    }
    for verb, argv in commands.items():
        message = one_sentence(run(*argv))
        assert message.startswith("vidpred: error: --out ") and "cannot write in" in message, (verb, message)
    assert not store.exists()


def test_a_missing_model_folder_is_named_as_a_folder(tmp_path):
    message = one_sentence(run("evaluate", "--model", str(tmp_path / "nope"), "--protocol", "mmnist-10-10",
                               "--out", str(tmp_path / "e")))
    assert message == f"vidpred: error: {tmp_path / 'nope'}: no such model folder (a run folder or pretrained/NAME)"


def test_output_suffixes_and_folders_are_checked_first(tmp_path):
    message = one_sentence(run("predict", "copy_last", "--input", "data:moving_mnist:0", "--out",
                               str(tmp_path / "x.jpg"), "num_test=2"))
    assert "must end in" in message and ".png" in message and ".gif" in message
    message = one_sentence(run("predict", "copy_last", "--input", "data:moving_mnist:0", "--out",
                               str(tmp_path / "x.gif"), "--frames-out", str(tmp_path / "f.txt"), "num_test=2"))
    assert "--frames-out" in message and "must end in .npy" in message
    (tmp_path / "a_file").write_text("x")
    message = one_sentence(run("evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--out",
                               str(tmp_path / "a_file")))
    assert "is a file; give a folder" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_frames_out_in_a_missing_folder_is_created(tmp_path, capsys):
    frames = tmp_path / "new" / "deeper" / "f.npy"
    assert main(["predict", "copy_last", "--input", "data:moving_mnist:1", "--out", str(tmp_path / "p.png"),
                 "--frames-out", str(frames), "num_test=4"]) == 0
    import numpy as np

    assert np.load(frames).shape == (1, 10, 1, 64, 64)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_missing_device_names_the_ones_there_are(tmp_path):
    message = one_sentence(run("predict", "copy_last", "--input", "data:moving_mnist:0", "--device", "cuda",
                               "--out", str(tmp_path / "x.gif"), "num_test=2"))
    assert "--device cuda" in message and "the only device here is cpu" in message
    message = one_sentence(run("evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--device", "gpu7",
                               "--out", str(tmp_path / "e")))
    assert "not a device name" in message
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("argv, expected", [
    (["predict", "copy_last", "--input", "data:moving_mnist", "--horizon", "0"], "--horizon: must be a whole number of at least 1, not 0"),
    (["predict", "copy_last", "--input", "data:moving_mnist", "--context", "0"], "--context: must be a whole number of at least 1, not 0"),
    (["predict", "copy_last", "--input", "data:moving_mnist", "--samples", "-2"], "--samples: must be a whole number"),
    (["predict", "copy_last", "--input", "data:moving_mnist", "--temperature", "0"], "--temperature: must be a number above 0"),
    (["evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--sequences", "0"], "--sequences: must be"),
    (["evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--batch-size", "two"], "invalid whole number value: 'two'"),
    (["data", "show", "moving_mnist", "--n", "0"], "--n: must be a whole number of at least 1, not 0"),
])
def test_zero_and_negative_counts_are_refused(tmp_path, argv, expected):
    out = tmp_path / ("o.gif" if argv[0] != "evaluate" else "o")
    message = one_sentence(run(*argv, "--out", str(out)))
    assert expected in message and "(see `vidpred" in message
    assert not out.exists()


def test_zero_through_the_python_api_is_refused_not_read_as_the_default():
    from vidpred.config import ConfigError
    from vidpred.eval.protocol import EvalSettings, evaluate, get_protocol
    from vidpred.models.io import build_model

    model = build_model("copy_last")
    with pytest.raises(ConfigError, match="max_sequences must be at least 1, not 0"):
        evaluate(model, get_protocol("mmnist-10-10"), EvalSettings(max_sequences=0))


def test_damaged_model_files_are_named_and_never_unsafely_loaded(tmp_path):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(PRETRAINED, damaged)
    (damaged / "model.safetensors").write_bytes(b"\xff" * 64)
    message = one_sentence(run("predict", str(damaged), "--input", "data:moving_mnist:0",
                               "--out", str(tmp_path / "x.gif"), "num_test=2"))
    assert "model.safetensors is not a readable safetensors file" in message

    marker = tmp_path / "code_ran"
    (damaged / "model.safetensors").write_bytes((PRETRAINED / "model.safetensors").read_bytes())
    (damaged / "config.yaml").write_text(f"model: !!python/object/apply:os.system ['touch {marker}']\n")
    message = one_sentence(run("predict", str(damaged), "--input", "data:moving_mnist:0",
                               "--out", str(tmp_path / "x.gif"), "num_test=2"))
    assert "config.yaml is not a readable config (line 1)" in message and "python/object/apply" in message
    assert not marker.exists() and not (tmp_path / "x.gif").exists()


def test_a_damaged_evaluation_is_named_by_report(tmp_path):
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "metrics.json").write_text("{half a file")
    message = one_sentence(run("report", str(tmp_path / "eval"), "--out", str(tmp_path / "cmp")))
    assert message.startswith(f"vidpred: error: {tmp_path / 'eval' / 'metrics.json'} is not readable JSON")
    (tmp_path / "eval" / "metrics.json").write_text("[1, 2]")
    message = one_sentence(run("report", str(tmp_path / "eval"), "--out", str(tmp_path / "cmp")))
    assert message.endswith("metrics.json is not an evaluation's metrics.json (no model, protocol and metrics)")
    assert not (tmp_path / "cmp").exists()


def test_an_unloadable_checkpoint_on_resume_is_named(tmp_path, tiny_run_config):
    from vidpred.config import to_dict
    from vidpred.training.config import load_experiment
    from vidpred.training.runner import run_folder

    config = tiny_run_config(tmp_path, max_steps=2, checkpoint_every=1)

    folder = run_folder(load_experiment(config))
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(to_dict(load_experiment(config)), sort_keys=False))
    (folder / "checkpoints").mkdir()
    # a pickle that would run code if loaded unsafely
    marker = tmp_path / "code_ran"
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (folder / "checkpoints" / "last.ckpt").write_bytes(pickle.dumps(Payload()))
    message = one_sentence(run("train", str(config)))
    assert "last.ckpt cannot be loaded safely to resume" in message and "--fresh" in message
    assert not marker.exists()


def test_ctrl_c_leaves_nothing_partial(tmp_path, monkeypatch, capsys):
    """Interrupted after writing part of its output, a command leaves no trace of it and says so in one line."""
    import vidpred.eval.report as report

    def interrupted_while_writing(evaluation, out):
        Path(out, "per_frame.csv").parent.mkdir(parents=True, exist_ok=True)
        Path(out, "per_frame.csv").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_results", interrupted_while_writing)
    out = tmp_path / "new" / "eval"
    assert main(["evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--sequences", "2",
                 "--out", str(out), "num_test=4"]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "vidpred: interrupted; nothing was written, and what was there before is as it was"
    assert "Traceback" not in err
    assert not (tmp_path / "new").exists()

    kept = tmp_path / "kept"  # an existing folder keeps what it held, and gains nothing
    kept.mkdir()
    (kept / "mine.txt").write_text("keep me")
    assert main(["evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--sequences", "2",
                 "--out", str(kept), "--overwrite", "num_test=4"]) == 130
    assert sorted(p.name for p in kept.iterdir()) == ["mine.txt"] and (kept / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]  # no temporary folder left beside it


def test_ctrl_c_on_a_real_process(tmp_path):
    out = tmp_path / "eval"
    process = subprocess.Popen([VIDPRED, "evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10",
                                "--batch-size", "1", "--out", str(out), "num_test=2000"],
                               stderr=subprocess.PIPE, text=True,
                               # as from a terminal: a suite started in the background (`cmd &`) would otherwise
                               # pass on SIGINT ignored, and the child would never see the Ctrl-C
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stderr:  # up to the evaluation's first progress line: the work has started
        if line.startswith("mmnist-10-10:"):
            break
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=120)[1]
    assert process.returncode == 130
    assert rest.strip().splitlines()[-1] == "vidpred: interrupted; nothing was written, and what was there before is as it was"
    assert "Traceback" not in rest and not out.exists()


def _interrupted_training(config: Path, signals: int, pause: float = 0.0) -> str:
    """Start `vidpred train`, send a Ctrl-C once it logs a step (every 10) and, with ``signals=2``, another
    ``pause`` seconds after it has said it will stop; its whole stderr."""
    process = subprocess.Popen([VIDPRED, "train", str(config)], stderr=subprocess.PIPE, text=True)
    seen = []
    for wait_for in ("step ", "vidpred: stopping after this step")[:signals]:
        for line in process.stderr:
            seen.append(line)
            if line.startswith(wait_for):
                break
        if wait_for != "step ":
            time.sleep(pause)
        process.send_signal(signal.SIGINT)
    rest = "".join(seen) + process.communicate(timeout=120)[1]
    assert process.returncode == 130, rest
    assert rest.strip().splitlines()[-1] == "vidpred: interrupted; run the same command again to resume from the last checkpoint"
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest, rest
    return rest


def test_ctrl_c_during_training_stops_at_the_end_of_a_step_with_its_checkpoint(tmp_path, tiny_run_config):
    # no periodic checkpoint before the interruption: the one there is, Ctrl-C wrote
    config = tiny_run_config(tmp_path, max_steps=100000, checkpoint_every=100000, accelerator="cpu")
    folder = tmp_path / "runs" / "tiny"
    rest = _interrupted_training(config, signals=1)
    assert "stopping after this step" in rest
    step = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert step >= 10 and not (folder / "stages" / "train.done").exists() and not (folder / "model.safetensors").exists()
    # twice: at once, from that checkpoint on; still one line, and the run resumes from where it had been
    rest = _interrupted_training(config, signals=2)
    assert f"vidpred: resuming tiny from {folder / 'checkpoints' / 'last.ckpt'}" in rest
    assert "Restor" not in rest  # Lightning's two lines on restoring say nothing vidpred's line does not
    assert torch.load(folder / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] >= step
    # the second Ctrl-C late, when the run may already be stopping with its checkpoint: the same clean ending
    # (it used to land in the shutdown: a KeyboardInterrupt traceback, exit by signal, or a hang)
    for _ in range(3):
        _interrupted_training(config, signals=2, pause=0.25)
