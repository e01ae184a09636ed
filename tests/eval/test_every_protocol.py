"""Every protocol in the registry evaluates end to end through the command, on a small synthetic data set of the
protocol's layout, frames and channels: with copy_last (and its baselines built for the protocol's frames) and with
a colour model, which a grey protocol refuses in one sentence before any prediction."""
from pathlib import Path

import numpy as np
import pytest

from vidpred.cli import main
from vidpred.data.video_folder import hash_split
from vidpred.eval.protocol import PROTOCOLS, protocol_data_config
from vidpred.io.video import write_video


def kth_root(moving_square, root: Path, num_frames: int) -> Path:
    """Two KTH-named grey videos: subject 1 (train) and subject 17 (test)."""
    for subject in (1, 17):
        video = moving_square(num_frames, 120, 160, seed=subject)
        write_video(root / "walking" / f"person{subject:02d}_walking_d1_uncomp.avi", video.mean(1, keepdims=True)
                    .astype(np.uint8), fps=25)
    return root


def bair_root(moving_square, root: Path, num_frames: int) -> Path:
    """One 64x64 colour trajectory per split as numbered PNGs."""
    import imageio.v3 as iio

    for split in ("train", "test"):
        video = moving_square(num_frames, 64, 64, seed=len(split))
        folder = root / split / "traj_0_to_255" / "0"
        folder.mkdir(parents=True)
        for t, frame in enumerate(video):
            iio.imwrite(folder / f"{t}.png", frame.transpose(1, 2, 0))
    return root


def video_folder_root(moving_square, root: Path, num_frames: int) -> Path:
    """A colour video in each split of the default 10% hash split (names chosen by their hash)."""
    for split in ("train", "test"):
        name = next(f"clip{i}.mp4" for i in range(1000) if hash_split(f"clip{i}.mp4", 0.1) == split)
        write_video(root / name, moving_square(num_frames, 72, 96, seed=len(split)), fps=25)
    return root


# per data set: how to make it, and the fields that keep its test split to a couple of sequences
DATA = {"moving_mnist": (None, ["num_test=2"]), "stochastic_moving_mnist": (None, ["num_test=2"]),
        "kth": (kth_root, []), "bair": (bair_root, []), "video_folder": (video_folder_root, [])}


def colour_model(folder: Path, protocol) -> Path:
    """A small colour ConvLSTM at the protocol's frame size (untrained: its numbers do not matter here)."""
    from vidpred.models.io import build_model, save_model

    size = protocol_data_config(protocol).image_size
    model = build_model("convlstm", channels=3, image_size=size, hidden=[4], kernel_size=3, patch_size=4,
                        num_context=protocol.context, num_predicted=protocol.horizon)
    return save_model(model, folder, config={"data": {"name": protocol.data["name"], "channels": 3}})


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_evaluates_copy_last_and_a_colour_model(tmp_path, name, capsys, square_clip):
    protocol = PROTOCOLS[name]
    make, fields = DATA[protocol.data["name"]]
    source = ["--root", str(make(square_clip, tmp_path / "data", protocol.data["num_frames"]))] if make else []
    common = ["--protocol", name, "--sequences", "2", "--samples", "2", *source, *fields]
    assert main(["evaluate", "--model", "copy_last", *common, "--out", str(tmp_path / "copy_last")]) == 0
    assert (tmp_path / "copy_last" / "report.html").is_file()
    channels = protocol_data_config(protocol).channels
    model = colour_model(tmp_path / "colour", protocol)
    capsys.readouterr()
    code = main(["evaluate", "--model", str(model), *common, "--out", str(tmp_path / "eval")])
    err = capsys.readouterr().err
    if channels == 3:
        assert code == 0, err
        import json

        for baseline in ("blank", "copy_last"):  # built for the protocol's colour frames
            result = json.loads((tmp_path / "eval" / "baselines" / baseline / "metrics.json").read_text())
            assert result["model_config"]["channels"] == 3 and result["protocol"]["name"] == name
        assert (tmp_path / "eval" / "comparison" / "report.html").is_file()
    else:  # refused before any prediction: one sentence, nothing written
        assert code == 2 and "the model takes 3-channel" in err and f"protocol {name} gives 1-channel" in err
        assert "vidpred: evaluating" not in err and not (tmp_path / "eval").exists()


def test_an_override_that_changes_a_protocol_makes_it_custom(tmp_path, capsys, square_clip):
    import json

    root = video_folder_root(square_clip, tmp_path / "data", 16)
    assert main(["evaluate", "--model", "copy_last", "--protocol", "kinetics-4-12", "--root", str(root),
                 "--sequences", "1", "--out", str(tmp_path / "grey"), "channels=1"]) == 0
    result = json.loads((tmp_path / "grey" / "metrics.json").read_text())
    assert result["protocol"]["name"] == "kinetics-4-12:custom" and result["protocol"]["custom"]
    assert "channels=1" in result["protocol"]["source"]
    assert "kinetics-4-12:custom" in (tmp_path / "grey" / "report.html").read_text()
    # where the files are is no change of protocol
    assert main(["evaluate", "--model", "copy_last", "--protocol", "kinetics-4-12", "--root", str(root),
                 "--sequences", "1", "--out", str(tmp_path / "same")]) == 0
    assert json.loads((tmp_path / "same" / "metrics.json").read_text())["protocol"]["name"] == "kinetics-4-12"


def test_an_empty_test_split_names_test_fraction(tmp_path, capsys, square_clip):
    root = tmp_path / "data"
    name = next(f"clip{i}.mp4" for i in range(1000) if hash_split(f"clip{i}.mp4", 0.1) == "train")
    write_video(root / name, square_clip(20, 64, 64), fps=25)
    assert main(["data", "prepare", "video_folder", "--root", str(root), "--out", str(tmp_path / "store")]) == 0
    captured = capsys.readouterr()
    assert "train: 1 video, 20 frames" in captured.out and "test: 0 videos" in captured.out
    assert "the test split of video_folder holds none of its 1 video: test_fraction=0.1" in captured.err
    assert main(["evaluate", "--model", "copy_last", "--protocol", "kinetics-4-12", "--cache", str(tmp_path / "store"),
                 "--out", str(tmp_path / "eval")]) == 2
    assert "test_fraction=0.1" in capsys.readouterr().err
    # a store prepared with another split is read with its own settings, not refused for lack of repeating them
    assert main(["data", "prepare", "video_folder", "--root", str(root), "--out", str(tmp_path / "all_test"),
                 "test_fraction=1.0"]) == 0
    assert main(["data", "show", "video_folder", "--cache", str(tmp_path / "all_test"), "--n", "1",
                 "--out", str(tmp_path / "grid.png")]) == 0


def test_a_long_evaluation_says_what_it_will_do_and_how_long(tmp_path, capsys):
    assert main(["evaluate", "--model", "linear_extrapolation", "--protocol", "mmnist-10-10", "--sequences", "4",
                 "--batch-size", "2", "--out", str(tmp_path / "e"), "num_test=4"]) == 0
    err = capsys.readouterr().err
    assert "vidpred: evaluating linear_extrapolation under mmnist-10-10: 4 test sequences x 1 sample" in err
    assert "vidpred: the first 2 sequences took" in err and "for all 4" in err


def test_an_evaluation_with_a_time_budget_stops_at_a_batch_and_scores_the_baselines_on_the_same_sequences(
        tmp_path, capsys):
    import json

    # a budget shorter than any batch: the evaluation stops after its first batch of 2
    assert main(["evaluate", "--model", "linear_extrapolation", "--protocol", "mmnist-10-10", "--batch-size", "2",
                 "--max-minutes", "0.000001", "--out", str(tmp_path / "e"), "num_test=10"]) == 0
    result = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert result["n_sequences"] == 2 and result["stopped"] == \
        "stopped by its time budget of 1e-06 min after 2 of 10 sequences"
    for baseline in ("blank", "copy_last"):
        assert json.loads((tmp_path / "e" / "baselines" / baseline / "metrics.json").read_text())["n_sequences"] == 2
    assert "Not the whole test split" in (tmp_path / "e" / "report.html").read_text()
    assert "after 2 of 10 sequences" in capsys.readouterr().out
