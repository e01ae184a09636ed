"""Nothing a user had is lost: every verb that writes, run over an existing output and stopped half-way by an error or
a Ctrl-C, leaves every byte under its folder as it was (no temporary name left either); an output that is one of the
command's inputs, or a folder holding something else, is refused before any work.

The failures are injected where each verb is half done (the real step runs, then raises), so the test sees the state a
crash or Ctrl-C at that moment would leave."""
from pathlib import Path

import numpy as np
import pytest

from vidpred.cli import main

PRETRAINED = Path(__file__).parents[1] / "pretrained"
FAILURES = [(KeyboardInterrupt, 130), (OSError, 2)]  # Ctrl-C, and an error such as a full disk


def snapshot(root: Path) -> dict:
    """Every path under ``root`` (hidden ones included) with the bytes of the files."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def stop_after(monkeypatch, owner, name: str, failure) -> None:
    """``owner.name`` does its real work, then raises ``failure``."""
    real = getattr(owner, name)

    def stopped(*args, **kwargs):
        real(*args, **kwargs)
        raise failure("stopped half-way")

    monkeypatch.setattr(owner, name, stopped)


def unchanged_after(tmp_path, monkeypatch, argv, owner, name, failure, code) -> None:
    before = snapshot(tmp_path)
    with monkeypatch.context() as patch:
        stop_after(patch, owner, name, failure)
        assert main(argv) == code
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("failure, code", FAILURES)
def test_predict_keeps_the_grid_and_frames_that_were_there(tmp_path, monkeypatch, failure, code):
    import vidpred.io.grid as grid

    (tmp_path / "keep.gif").write_bytes(b"a gif the user made")
    (tmp_path / "keep.npy").write_bytes(b"frames the user saved")
    argv = ["predict", "copy_last", "--input", "data:moving_mnist:0", "--out", str(tmp_path / "keep.gif"),
            "--frames-out", str(tmp_path / "keep.npy"), "num_test=2"]
    unchanged_after(tmp_path, monkeypatch, argv, grid, "write_grid", failure, code)
    # and an error the command itself finds after the model is loaded (the context is longer than the clip)
    before = snapshot(tmp_path)
    assert main([*argv[:6], "--context", "30", *argv[6:]]) == 2
    assert snapshot(tmp_path) == before
    assert main(argv) == 0  # success replaces them
    assert np.load(tmp_path / "keep.npy").shape == (1, 10, 1, 64, 64)


def test_predict_refuses_to_write_over_its_input(tmp_path, write_clip, capsys):
    write_clip(tmp_path / "clip.avi", num_frames=6)
    before = snapshot(tmp_path)
    assert main(["predict", "copy_last", "--input", str(tmp_path / "clip.avi"), "--context", "2", "--horizon", "2",
                 "--out", str(tmp_path / "clip.avi")]) == 2
    assert "is the input" in capsys.readouterr().err
    (tmp_path / "frames").mkdir()
    assert main(["predict", "copy_last", "--input", str(tmp_path / "frames"), "--out",
                 str(tmp_path / "frames" / "grid.png")]) == 2
    assert "lies inside the input folder" in capsys.readouterr().err
    assert snapshot(tmp_path) == {**before, "frames": None}


@pytest.mark.parametrize("failure, code", FAILURES)
def test_data_show_keeps_the_grid_that_was_there(tmp_path, monkeypatch, failure, code):
    import vidpred.io.grid as grid

    (tmp_path / "grid.png").write_bytes(b"an older grid")
    argv = ["data", "show", "moving_mnist", "--n", "2", "--out", str(tmp_path / "grid.png"), "num_test=2"]
    unchanged_after(tmp_path, monkeypatch, argv, grid, "write_grid", failure, code)


@pytest.mark.parametrize("failure, code", FAILURES)
def test_data_prepare_keeps_the_old_store_readable_until_the_new_one_is_whole(tmp_path, monkeypatch, failure, code):
    from vidpred.data.cache import FrameStore, StoreWriter

    store = tmp_path / "store"
    argv = ["data", "prepare", "moving_mnist", "--out", str(store), "num_test=3"]
    assert main(argv) == 0
    first = FrameStore(store).read(0)
    unchanged_after(tmp_path, monkeypatch, [*argv[:-1], "num_test=5"], StoreWriter, "close", failure, code)
    assert np.array_equal(FrameStore(store).read(0), first) and len(FrameStore(store).videos) == 3
    assert main([*argv[:-1], "num_test=5"]) == 0  # the same data set again: replaced, no old shard left
    assert len(FrameStore(store).videos) == 5


def test_data_prepare_refuses_a_store_of_another_data_set_and_knows_older_stores(tmp_path, capsys):
    import os

    store = tmp_path / "store"
    assert main(["data", "prepare", "moving_mnist", "--out", str(store), "num_test=2"]) == 0
    before = snapshot(tmp_path)
    assert main(["data", "prepare", "stochastic_moving_mnist", "--out", str(store), "num_test=2"]) == 2
    assert "holds a prepared store of moving_mnist, not a prepared store of stochastic_moving_mnist" in \
        capsys.readouterr().err
    assert snapshot(tmp_path) == before
    os.remove(store / ".vidpred-output.json")  # a store prepared before stores carried a record
    assert main(["data", "prepare", "moving_mnist", "--out", str(store), "num_test=3"]) == 0
    assert sorted(p.name for p in store.iterdir()) == [".vidpred-output.json", "index.json", "shard_00000.npy"]


@pytest.mark.parametrize("failure, code", FAILURES)
def test_evaluate_keeps_the_evaluation_that_was_there(tmp_path, monkeypatch, failure, code, capsys):
    import vidpred.eval.report as report

    argv = ["evaluate", "--model", "linear_extrapolation", "--protocol", "mmnist-10-10", "--sequences", "2",
            "--out", str(tmp_path / "eval"), "num_test=2"]
    assert main(argv) == 0
    unchanged_after(tmp_path, monkeypatch, argv, report, "compare", failure, code)
    before = snapshot(tmp_path)
    other = ["evaluate", "--model", "copy_last", *argv[3:]]
    assert main(other) == 2  # another model's evaluation into it: refused, naming both
    assert "holds an evaluation of linear_extrapolation under mmnist-10-10, not an evaluation of copy_last" in \
        capsys.readouterr().err
    assert snapshot(tmp_path) == before
    assert main([*other, "--overwrite"]) == 0  # and replaced only when asked: nothing of the old one is left
    assert '"model": "copy_last"' in (tmp_path / "eval" / "metrics.json").read_text()
    assert not (tmp_path / "eval" / "baselines").exists() and not (tmp_path / "eval" / "comparison").exists()


@pytest.mark.parametrize("failure, code", FAILURES)
def test_report_keeps_the_report_and_the_pictures_it_links(tmp_path, monkeypatch, failure, code):
    import vidpred.eval.report as report

    for model in ("copy_last", "blank"):
        assert main(["evaluate", "--model", model, "--protocol", "mmnist-10-10", "--sequences", "2",
                     "--out", str(tmp_path / model), "num_test=2"]) == 0
    argv = ["report", str(tmp_path / "copy_last"), str(tmp_path / "blank"), "--out", str(tmp_path / "cmp")]
    assert main(argv) == 0
    unchanged_after(tmp_path, monkeypatch, argv, report, "_side_by_side", failure, code)
    assert main(["report", str(tmp_path / "copy_last"), "--out", str(tmp_path / "copy_last")]) == 2  # its input


@pytest.mark.parametrize("failure, code", FAILURES)
def test_reconstruct_keeps_what_was_there(tmp_path, monkeypatch, failure, code):
    import vidpred.eval.reconstruction as reconstruction

    argv = ["reconstruct", str(PRETRAINED / "mmnist_video_vqvae"), "--data", "moving_mnist", "--clips", "2",
            "--out", str(tmp_path / "rec"), "num_test=2"]
    assert main(argv) == 0
    unchanged_after(tmp_path, monkeypatch, argv, reconstruction, "atomic_write_text", failure, code)


@pytest.mark.parametrize("failure, code", FAILURES)
def test_export_keeps_the_model_that_was_there(tmp_path, monkeypatch, failure, code, capsys):
    import vidpred.models.io as io

    argv = ["export", str(PRETRAINED / "smmnist_vrnn"), "--out", str(tmp_path / "mine")]
    assert main(argv) == 0
    unchanged_after(tmp_path, monkeypatch, [*argv, "--half"], io, "atomic_write_text", failure, code)
    before = snapshot(tmp_path)
    assert main(["export", str(PRETRAINED / "smmnist_svg_lp"), "--out", str(tmp_path / "mine")]) == 2
    assert "holds the export of" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "mine"), "--out", str(tmp_path / "mine")]) == 2
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("failure, code", FAILURES)
def test_demo_keeps_the_demo_that_was_there(tmp_path, monkeypatch, failure, code):
    import vidpred.demo as demo
    from vidpred.models.io import build_model, save_model

    model = save_model(build_model("linear_extrapolation"), tmp_path / "model",
                       config={"data": {"name": "moving_mnist"}})
    argv = ["demo", "--out", str(tmp_path / "demo"), "--model", str(model), "--sequences", "2", "--samples", "1",
            "--num-test", "2"]
    assert main(argv) == 0
    unchanged_after(tmp_path, monkeypatch, argv, demo, "_prediction_grid", failure, code)


@pytest.mark.parametrize("failure, code", FAILURES)
def test_study_create_leaves_no_half_study(tmp_path, monkeypatch, failure, code, capsys):
    from vidpred.study.store import StudyStore

    argv = ["study", "create", str(tmp_path / "study"), "--a", "copy_last", "--b", "blank", "--protocol",
            "mmnist-10-10", "--clips", "2", "num_test=2"]
    unchanged_after(tmp_path, monkeypatch, argv, StudyStore, "create", failure, code)
    assert not (tmp_path / "study").exists()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "plan.txt").write_text("mine")
    before = snapshot(tmp_path)
    assert main([*argv[:2], str(tmp_path / "notes"), *argv[3:]]) == 2
    assert "is not empty; give a new or empty folder" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


@pytest.fixture
def tiny_run(tmp_path, tiny_run_config) -> Path:
    """A config of a two-step run of a tiny ConvLSTM."""
    return tiny_run_config(tmp_path, max_steps=2, accelerator="cpu")


@pytest.mark.parametrize("failure, code", FAILURES)
def test_train_fresh_puts_the_old_run_back_when_the_new_one_stops_before_its_first_checkpoint(
        tmp_path, tiny_run, monkeypatch, failure, code):
    import vidpred.training.runner as runner

    config = tiny_run
    assert main(["train", str(config)]) == 0
    assert (tmp_path / "runs" / "tiny" / "model.safetensors").is_file()
    unchanged_after(tmp_path, monkeypatch, ["train", str(config), "--fresh"], runner, "intensity_stats",
                    failure, code)


@pytest.mark.parametrize("failure, code", FAILURES)
def test_a_new_run_stopped_before_its_first_checkpoint_leaves_no_folder(tmp_path, tiny_run, monkeypatch, failure,
                                                                        code):
    import vidpred.training.runner as runner

    config = tiny_run
    unchanged_after(tmp_path, monkeypatch, ["train", str(config)], runner, "intensity_stats", failure, code)
    assert not (tmp_path / "runs").exists()


def test_train_refuses_a_folder_that_is_not_a_run(tmp_path, tiny_run, capsys):
    config = tiny_run
    (tmp_path / "runs" / "tiny").mkdir(parents=True)
    (tmp_path / "runs" / "tiny" / "data.csv").write_text("the user's")
    before = snapshot(tmp_path)
    assert main(["train", str(config)]) == 2
    assert "holds files that are not a vidpred run" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("override, message", [
    ("trainer.max_steps=-5", "trainer: max_steps must be above 0, not -5"),
    ("trainer.max_steps=0", "trainer: max_steps must be above 0, not 0"),
    ("trainer.batch_size=0", "trainer: batch_size must be above 0, not 0"),
    ("optim.lr=-1", "optim: lr must be above 0, not -1.0"),
    ("optim.lr=.nan", "optim: lr must be above 0, not nan"),
    ("trainer.max_minutes=0", "trainer: max_minutes must be above 0, not 0.0"),
    ("trainer.num_workers=-1", "trainer: num_workers must be 0 or more, not -1"),
    ("trainer.precision=fp8", "trainer: precision must be one of"),
    ("trainer.devices=0", "trainer: devices must be a number of devices"),
    ("optim.betas=[0.9,1.5]", "optim: betas must each be in [0, 1)"),
    ("stages.tokenizer.batch_size=0", None),  # convlstm has no stages: refused by the stage check first
    ("seed=-1", "seed must be 0 or more, not -1"),
])
def test_training_settings_are_checked_before_anything_is_written(tmp_path, tiny_run, capsys, override, message):
    config = tiny_run
    before = snapshot(tmp_path)
    assert main(["train", str(config), override]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert message is None or message in err, err
    assert snapshot(tmp_path) == before


def test_stage_settings_are_checked_too():
    from vidpred.config import ConfigError
    from vidpred.training.config import load_experiment

    config = Path(__file__).parents[1] / "configs" / "mmnist" / "video_vqvae.yaml"
    for override, message in (("stages.top_prior.batch_size=0", "batch_size must be above 0"),
                              ("stages.codes.train_clips=-3", "train_clips must be above 0"),
                              ("stages.top_prior.lr=0", "lr must be above 0")):
        with pytest.raises(ConfigError, match=message):
            load_experiment(config, [override])


def test_a_demo_or_evaluation_written_before_folders_had_a_record_is_recognised(tmp_path, capsys):
    import os

    from vidpred.models.io import build_model, save_model

    argv = ["evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--sequences", "2",
            "--out", str(tmp_path / "eval"), "num_test=2"]
    assert main(argv) == 0
    os.remove(tmp_path / "eval" / ".vidpred-output.json")
    (tmp_path / "eval" / "notes.txt").write_text("the user's")
    assert main(argv) == 0  # the same evaluation again: replaced, the user's file kept
    assert main(["evaluate", "--model", "blank", *argv[3:]]) == 2
    assert "holds an evaluation of copy_last under mmnist-10-10" in capsys.readouterr().err
    model = save_model(build_model("copy_last"), tmp_path / "model", config={"data": {"name": "moving_mnist"}})
    demo = ["demo", "--out", str(tmp_path / "demo"), "--model", str(model), "--sequences", "2", "--samples", "1",
            "--num-test", "2"]
    assert main(demo) == 0
    os.remove(tmp_path / "demo" / ".vidpred-output.json")
    assert main(demo) == 0 and (tmp_path / "eval" / "notes.txt").read_text() == "the user's"
