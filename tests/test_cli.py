"""Smoke tests of every CLI verb that exists so far."""
import json

import pytest

from vidpred.cli import main
from vidpred.io.video import read_video


def test_help_explains_each_verb(capsys):
    for argv in (["--help"], ["data", "--help"], ["data", "prepare", "--help"], ["data", "show", "--help"],
                 ["demo", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Decode every video of a data set once" in out and "key=value" in out


def test_data_list(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("moving_mnist", "stochastic_moving_mnist", "kth", "bair", "video_folder", "sample_clips"):
        assert name in out


def test_data_prepare_and_show_from_the_store(tmp_path, capsys):
    assert main(["data", "prepare", "sample_clips", "--out", str(tmp_path / "store"), "num_frames=8"]) == 0
    out = capsys.readouterr().out
    assert "prepared sample_clips" in out and "skipped: none" in out and "test:" in out
    index = json.loads((tmp_path / "store" / "index.json").read_text())
    assert len(index["videos"]) == 8 and all(len(s["sha256"]) == 64 for s in index["shards"])
    assert main(["data", "show", "sample_clips", "--cache", str(tmp_path / "store"), "--n", "3",
                 "--context", "4", "--out", str(tmp_path / "grid.gif"), "num_frames=8"]) == 0
    assert read_video(tmp_path / "grid.gif").shape[0] == 8


def test_data_show_generated_set_as_png(tmp_path):
    assert main(["data", "show", "moving_mnist", "--n", "2", "--out", str(tmp_path / "g.png"), "num_test=4"]) == 0
    assert (tmp_path / "g.png").stat().st_size > 1000


def test_user_errors_are_one_sentence_and_exit_2(tmp_path, capsys):
    assert main(["data", "show", "moving_mnist", "--out", str(tmp_path / "g.gif"), "num_digts=1"]) == 2
    assert "num_digts: unknown key; did you mean 'num_digits'?" in capsys.readouterr().err
    assert main(["data", "prepare", "kth", "--out", str(tmp_path / "o")]) == 2
    assert "give --root PATH" in capsys.readouterr().err
    assert main(["data", "prepare", "kth", "--root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidpred: error: no KTH videos under") and "Traceback" not in err
    assert main(["data", "show", "nope", "--out", str(tmp_path / "g.gif")]) == 2
    assert "unknown data set 'nope'; known data sets:" in capsys.readouterr().err


def test_demo_writes_grids_and_summary(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--num-test", "20"]) == 0
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["moving_mnist"]["clips"] == 20
    assert summary["moving_mnist"]["clip_shape_TCHW"] == [20, 1, 64, 64]
    for name in ("moving_mnist_test", "stochastic_moving_mnist_test", "sample_clips_test"):
        assert (tmp_path / "demo" / f"{name}.png").is_file()
        assert read_video(tmp_path / "demo" / f"{name}.gif").shape[0] > 1


def test_evaluate_and_report(tmp_path, capsys):
    for model in ("copy_last", "linear_extrapolation"):
        assert main(["evaluate", "--model", model, "--protocol", "smmnist-5-10", "--sequences", "3",
                     "--out", str(tmp_path / model), "num_test=3"]) == 0
    out = capsys.readouterr().out
    assert "copy_last on smmnist-5-10: 3 sequences x 1 sample(s)" in out and "lpips not computed" in out
    metrics = json.loads((tmp_path / "copy_last" / "metrics.json").read_text())
    assert metrics["data_config"]["num_test"] == 3 and metrics["protocol"]["name"] == "smmnist-5-10"
    assert main(["report", str(tmp_path / "copy_last"), str(tmp_path / "linear_extrapolation"),
                 "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "report.html").is_file()
    assert main(["evaluate", "--model", "copy_last", "--protocol", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown protocol 'nope'" in capsys.readouterr().err
    assert main(["evaluate", "--model", "copy_last", "--protocol", "kth-10-20", "--out", str(tmp_path / "x")]) == 2
    assert "kth needs root=" in capsys.readouterr().err
