"""Smoke tests of every CLI verb that exists so far."""
import json
from pathlib import Path

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


def test_models_lists_presets_and_the_pretrained_folders_with_their_metrics(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "hr_vqvae_mmnist_3" in out and "pretrained/mmnist_s_hr_vqvae" in out
    assert "decoding argmax" in out and "mse 173" in out  # numbers and words of metrics.json alike
    assert "blank on the same sequences: mse 166.9" in out  # the baselines recorded beside it


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


def test_demo_predicts_with_the_committed_pretrained_pipeline(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--sequences", "2", "--samples", "2", "--num-test", "20"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sequences"] == 2
    mmnist = summary["sections"]["mmnist-10-10"]
    assert set(mmnist["metrics"]) == {"s_hr_vqvae", "video_vqvae", "copy_last", "blank"}
    assert mmnist["deterministic"] == ["s_hr_vqvae"]
    for label in ("s_hr_vqvae", "video_vqvae"):
        assert 0 < mmnist["metrics"][label]["ssim_uniform7"]["best"] <= 1
        assert (out / label / "report.html").is_file()
    page = (out / "report.html").read_text()
    assert all(label in page for label in mmnist["metrics"])  # one report with every model and baseline
    grid = read_video(out / "predictions.gif")
    assert grid.shape[0] == 20  # one animation frame per time step: 10 context + 10 predicted
    smmnist = summary["sections"]["smmnist-5-10"]
    assert set(smmnist["metrics"]) == {"svg", "vrnn", "copy_last", "blank"}
    assert 0 < smmnist["metrics"]["vrnn"]["ssim"]["best"] <= 1


def test_demo_shows_each_model_under_the_protocol_of_its_training_data(tmp_path, capsys):
    from vidpred.models.io import build_model, save_model

    svg = save_model(build_model("svg", width=8, rnn_size=16), tmp_path / "svg",
                     config={"data": {"name": "stochastic_moving_mnist"}})
    shr = Path(__file__).parents[1] / "pretrained" / "mmnist_s_hr_vqvae"
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--model", str(shr), "--model", str(svg), "--sequences", "2",
                 "--samples", "2", "--num-test", "20"]) == 0
    sections = json.loads((out / "summary.json").read_text())["sections"]
    assert set(sections) == {"mmnist-10-10", "smmnist-5-10"}
    assert set(sections["smmnist-5-10"]["metrics"]) == {"svg", "copy_last", "blank"}
    assert set(sections["mmnist-10-10"]["metrics"]) == {"s_hr_vqvae", "copy_last", "blank"}
    assert (out / "smmnist" / "report.html").is_file() and (out / "smmnist" / "svg" / "report.html").is_file()
    assert read_video(out / "smmnist" / "predictions.gif").shape[0] == 15  # 5 context + 10 predicted
    assert "**smmnist-5-10** (stochastic_moving_mnist: 5 context frames" in (out / "summary.md").read_text()
    other = save_model(build_model("copy_last"), tmp_path / "kth", config={"data": {"name": "kth"}})
    assert main(["demo", "--out", str(tmp_path / "d2"), "--model", str(other)]) == 2
    assert "was trained on kth; the demo shows models of moving_mnist and stochastic_moving_mnist" in capsys.readouterr().err


def test_evaluate_and_report(tmp_path, capsys):
    for model in ("copy_last", "linear_extrapolation"):
        assert main(["evaluate", "--model", model, "--protocol", "smmnist-5-10", "--sequences", "3",
                     "--out", str(tmp_path / model), "num_test=3"]) == 0
    out = capsys.readouterr().out
    assert "copy_last on smmnist-5-10: 3 sequences x 1 sample," in out and "lpips not computed" in out
    metrics = json.loads((tmp_path / "copy_last" / "metrics.json").read_text())
    assert metrics["data_config"]["num_test"] == 3 and metrics["protocol"]["name"] == "smmnist-5-10"
    assert main(["report", str(tmp_path / "copy_last"), str(tmp_path / "linear_extrapolation"),
                 "--out", str(tmp_path / "cmp")]) == 0
    compared = (tmp_path / "cmp" / "report.html").read_text()
    assert compared.count("not computed: alexnet-owt-7be5be79.pth missing") == 2  # one per model
    assert (tmp_path / "cmp" / "samples.png").is_file()
    assert main(["evaluate", "--model", "copy_last", "--protocol", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown protocol 'nope'" in capsys.readouterr().err
    assert main(["evaluate", "--model", "copy_last", "--protocol", "kth-10-20", "--out", str(tmp_path / "x")]) == 2
    assert "kth needs root=" in capsys.readouterr().err


def test_predict_on_a_shipped_mp4_writes_a_playable_file_of_the_right_length(tmp_path, capsys):
    from vidpred.data.sample_clips import clip_folder

    clip = clip_folder() / "bikes.mp4"
    out = tmp_path / "pred.mp4"
    assert main(["predict", "linear_extrapolation", "--input", str(clip), "--context", "4", "--horizon", "12",
                 "--samples", "2", "--out", str(out), "--frames-out", str(tmp_path / "pred.npy")]) == 0
    notes = capsys.readouterr().out
    assert "converted colour frames to grey for the model" in notes and "cropped and resized 640x272" in notes
    assert read_video(out).shape[0] == 16  # 4 context + 12 predicted frames
    import numpy as np

    assert np.load(tmp_path / "pred.npy").shape == (2, 12, 1, 64, 64)
    assert main(["predict", "copy_last", "--input", "data:moving_mnist:3", "--out", str(tmp_path / "p.gif"),
                 "num_test=20"]) == 0
    assert read_video(tmp_path / "p.gif").shape[0] == 20


def test_predict_bad_input_is_one_sentence(tmp_path, capsys):
    from vidpred.data.sample_clips import clip_folder

    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 100)
    assert main(["predict", "copy_last", "--input", str(tmp_path / "junk.mp4"), "--out", str(tmp_path / "x.gif")]) == 2
    assert "junk.mp4: cannot" in capsys.readouterr().err
    frames = tmp_path / "frames"
    frames.mkdir()
    from PIL import Image

    for t in range(3):
        Image.new("RGB", (32, 32), (t * 50, 0, 0)).save(frames / f"{t}.png")
    assert main(["predict", "copy_last", "--input", str(frames), "--context", "5", "--out", str(tmp_path / "x.gif")]) == 2
    assert "has 3 frames; --context 5 needs at least 5" in capsys.readouterr().err
    assert main(["predict", "linear_extrapolation", "--input", str(clip_folder() / "bikes.mp4"), "--context", "1",
                 "--out", str(tmp_path / "x.gif")]) == 2
    assert "the model needs at least 2 context frames" in capsys.readouterr().err


def test_python_predict_api_takes_numpy_and_torch():
    import numpy as np
    import torch

    import vidpred

    frames = (np.random.default_rng(0).random((6, 3, 48, 80)) * 255).astype(np.uint8)
    out = vidpred.predict("copy_last", frames, horizon=4, num_samples=2)  # numpy uint8 in: numpy uint8 out
    assert out.shape == (2, 4, 1, 64, 64) and isinstance(out, np.ndarray) and out.dtype == np.uint8
    same = vidpred.predict(vidpred.load("copy_last"), torch.from_numpy(frames).float() / 255, horizon=4, num_samples=2)
    assert same.dtype == torch.float32 and torch.allclose(torch.from_numpy(out).float() / 255, same, atol=1 / 255)
    with pytest.raises(ValueError, match=r"float frames must lie in \[0, 1\]"):
        vidpred.predict("copy_last", torch.full((3, 1, 64, 64), 2.0), horizon=1)


def reconstruct_tiny(run, tmp_path, clips: int, capsys, *options) -> str:
    """`vidpred reconstruct` of a tiny run on 32x32 8-frame Moving MNIST test clips; returns what it printed."""
    assert main(["reconstruct", str(run), "--data", "moving_mnist", "--clips", str(clips), "--out",
                 str(tmp_path / "rec"), *options, "num_test=6", "image_size=32", "num_frames=8"]) == 0
    return capsys.readouterr().out


def test_video_vqvae_pipeline_trains_all_stages_then_predicts(tmp_path, capsys):
    """A tiny Video VQ-VAE through every stage of `vidpred train`, then reconstruct, encode, predict."""
    import numpy as np
    import torch
    import yaml

    from vidpred.models.io import load_model

    tiny_prior = {"hidden": 8, "layers": 2, "heads": 2, "attention_every": 2, "embed": 4, "cond_hidden": 8,
                  "cond_residual": 4, "cond_blocks": 1}
    config = tmp_path / "vq.yaml"
    config.write_text(yaml.safe_dump({
        "name": "vq", "runs_dir": str(tmp_path / "runs"),
        "model": {"preset": "video_vqvae_tiny",  # the preset, with the keys beside it overriding
                  "tokenizer": {"num_frames": 8, "hidden": 16, "residual": 8, "num_codes": 32},
                  "top_prior": {**tiny_prior, "cond_reduced": 8}, "bottom_prior": {**tiny_prior, "kernel": 3}},
        "data": {"name": "moving_mnist", "num_test": 6, "image_size": 32, "num_frames": 10},
        "trainer": {"max_steps": 2, "batch_size": 2, "sample_every": 2, "checkpoint_every": 2},
        "stages": {"codes": {"train_clips": 6, "test_clips": 4}, "top_prior": {"batch_size": 3}}}))
    assert main(["train", str(config), "--print-config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["name"] == "video_vqvae" and printed["model"]["tokenizer"]["num_frames"] == 8
    assert printed["model"]["bottom_prior"]["past_window"] == 2  # from the preset
    assert printed["stages"]["top_prior"]["batch_size"] == 3 and printed["stages"]["top_prior"]["lr"] is None
    assert main(["train", str(config)]) == 0
    run = tmp_path / "runs" / "vq"
    for stage in ("tokenizer", "codes", "top_prior", "bottom_prior"):
        assert (run / "stages" / f"{stage}.done").is_file()
    assert (run / "tokenizer" / "samples" / "step_000002.gif").is_file()
    nll = json.loads((run / "top_prior" / "test_nll.json").read_text())
    assert nll["test_clips"] == 4 and 0 < nll["test_nats_per_dim"] < 2 * np.log(32)
    assert np.load(run / "codes" / "train_context_bottom.npy").shape == (6, 2, 8, 8)
    capsys.readouterr()

    out = reconstruct_tiny(run, tmp_path, 4, capsys)
    assert "4 test clips: PSNR" in out and "bit budget: 1440 latent bits / 65536 pixel bits = 2.20%" in out
    assert main(["encode", str(run), "--data", "moving_mnist", "--out", str(tmp_path / "codes"), "--train-clips", "5",
                 "--context-frames", "4", "num_test=6", "image_size=32", "num_frames=8"]) == 0
    top = np.load(tmp_path / "codes" / "train_top.npy")
    assert top.shape == (5, 2, 4, 4) and top.dtype == np.uint16 and top.max() < 32
    assert np.load(tmp_path / "codes" / "test_context_top.npy").shape == (6, 1, 4, 4)
    assert len(json.loads((tmp_path / "codes" / "test_index.json").read_text())["clips"]) == 6

    # predict: 3 distinct samples, a horizon longer than one window (4 frames) slides the window
    model = load_model(run)
    context = torch.rand(2, 4, 1, 32, 32)
    out = model.predict(context, horizon=7, num_samples=3, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 7, 1, 32, 32) and 0 <= out.min() and out.max() <= 1
    assert not torch.equal(out[:, 0], out[:, 1]) and not torch.equal(out[:, 1], out[:, 2])
    again = model.predict(context, horizon=7, num_samples=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    assert main(["predict", str(run), "--input", "data:moving_mnist:1", "--out", str(tmp_path / "p.gif"),
                 "--samples", "2", "num_test=6", "image_size=32"]) == 0
    assert read_video(tmp_path / "p.gif").shape[0] == 8  # 4 context + the window's 4 predicted frames

    assert main(["export", str(run), "--out", str(tmp_path / "shared"), "--half"]) == 0
    assert "float16 weights" in capsys.readouterr().out
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "shared" / "model.safetensors"))
    assert stored["top_prior.pixelcnn.head.weight"].dtype == torch.float16
    shared = load_model(tmp_path / "shared")
    assert shared.top_prior.pixelcnn.head.weight.dtype == torch.float32
    assert torch.equal(shared.top_prior.pixelcnn.head.weight, model.top_prior.pixelcnn.head.weight.half().float())
    assert int(shared.stages_trained) == 4

    assert main(["reconstruct", str(tmp_path / "runs" / "nope"), "--data", "moving_mnist", "--out", "x"]) == 2
    capsys.readouterr()
    assert main(["evaluate", "--model", "video_vqvae", "--protocol", "mmnist-10-10", "--out", str(tmp_path / "e")]) == 2
    assert "video_vqvae trains in stages and cannot predict untrained" in capsys.readouterr().err


def test_s_hr_vqvae_pipeline_trains_through_the_generic_stages_then_predicts(tmp_path, capsys):
    """The staged machinery written for the Video VQ-VAE trains S-HR-VQVAE unchanged: a tokenizer with three tree
    layers, codes, one prior per tree layer, then the joint stage (Eq. 9)."""
    import numpy as np
    import torch
    import yaml

    from vidpred.models.io import load_model

    config = tmp_path / "shr.yaml"
    config.write_text(yaml.safe_dump({
        "name": "shr", "runs_dir": str(tmp_path / "runs"),
        "model": {"preset": "s_hr_vqvae_tiny", "decoding": "argmax", "training": "joint", "tokenizer": {"num_layers": 3}},
        "data": {"name": "moving_mnist", "num_test": 6, "image_size": 32, "num_frames": 8},
        "trainer": {"max_steps": 2, "batch_size": 2, "sample_every": 2, "checkpoint_every": 2},
        "stages": {"codes": {"train_clips": 4, "test_clips": 4}}}))
    assert main(["train", str(config)]) == 0
    run = tmp_path / "runs" / "shr"
    assert all((run / "stages" / f"{s}.done").is_file() for s in ("tokenizer", "codes", "prior", "joint"))
    assert (run / "joint" / "checkpoints" / "last.ckpt").is_file()
    assert np.load(run / "codes" / "train_layer3.npy").shape == (4, 8, 8, 8)
    capsys.readouterr()
    out = reconstruct_tiny(run, tmp_path, 2, capsys, "--per-layer")
    assert "layer1 level only" in out and "layer3 codes: " in out
    assert "PSNR from the first k levels: 1: " in out and "3: " in out
    assert "compression ratio: 21.33 (pixel bits / latent bits)" in out  # 32*32*8 / (8*8 positions x 3 x 2 bits)
    model = load_model(run)
    assert not model.stochastic  # arg-max decoding
    predicted = model.predict(torch.rand(1, 4, 1, 32, 32), horizon=6, num_samples=2)  # two windows of 4
    assert predicted.shape == (1, 2, 6, 1, 32, 32) and torch.equal(predicted[:, 0], predicted[:, 1])


def test_predict_decodes_only_the_frames_it_needs_scaled_down(tmp_path, capsys):
    from vidpred.data.sample_clips import clip_folder
    from vidpred.inference import read_input
    from vidpred.io.video import video_info

    video = str(clip_folder() / "bikes.mp4")
    frames, label, size = read_input(video, length=6, short_side=64)
    assert frames.shape == (6, 3, 64, 151) and label == video and size == (640, 272)
    later, label, _ = read_input(video, start="1s", length=3, short_side=64)
    first = round(video_info(video)[0])
    assert label == f"{video} from 1 s"
    assert (later == read_input(video, start=str(first), length=3, short_side=64)[0]).all()
    assert not (later == frames[:3]).all()
    assert main(["predict", "copy_last", "--input", video, "--start", "1s", "--context", "3", "--horizon", "2",
                 "--out", str(tmp_path / "p.gif")]) == 0
    assert "from 1 s: 3 context frames, 2 predicted" in capsys.readouterr().out
    assert main(["predict", "copy_last", "--input", video, "--start", "-1", "--out", str(tmp_path / "q.gif")]) == 2
    assert "--start -1: must be 0 or later" in capsys.readouterr().err
    assert not (tmp_path / "q.gif").exists()


def test_a_grey_video_into_a_grey_model_needs_no_conversion_note(tmp_path, capsys):
    """Readers give RGB; a grey clip (three equal channels) is not reported as converted."""
    from vidpred.data import build_dataset, data_config
    from vidpred.io.video import write_video

    clip = build_dataset(data_config("moving_mnist", num_test=2), "test").frames(0)  # (T, 1, 64, 64) uint8
    write_video(tmp_path / "grey.gif", clip)
    assert main(["predict", "copy_last", "--input", str(tmp_path / "grey.gif"), "--context", "1", "--horizon", "1",
                 "--out", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert "converted" not in out and "grey.gif: 1 context frame, 1 predicted, 1 sample)" in out


def test_predict_says_what_the_model_was_trained_on_when_the_input_is_unlike_it(tmp_path, capsys):
    from vidpred.data.sample_clips import clip_folder
    from vidpred.models.io import build_model, save_model

    folder = save_model(build_model("copy_last"), tmp_path / "model", config={
        "data": {"name": "moving_mnist", "channels": 1},
        "data_stats": {"mean_intensity": 0.05, "clip_mean_range": [0.03, 0.08], "clips_measured": 32}})
    args = ["predict", str(folder), "--context", "2", "--horizon", "1", "--out", str(tmp_path / "p.png")]
    assert main(args + ["--input", str(clip_folder() / "bikes.mp4")]) == 0
    lines = capsys.readouterr().out.splitlines()
    unlike = [line for line in lines if "trained on" in line]
    assert len(unlike) == 1 and not any(line.startswith("converted") for line in lines)
    assert unlike[0].startswith("the model was trained on moving_mnist (grey frames, mean intensity 0.05); "
                                "this input is colour (converted for the model), mean intensity 0.")
    assert unlike[0].endswith("expect a prediction that looks nothing like it")
    assert main(args + ["--input", "data:moving_mnist:1", "num_test=2"]) == 0  # like the training data: no line
    assert "trained on" not in capsys.readouterr().out


def test_predict_shows_progress_and_is_reproducible_for_a_seed(tmp_path, capsys):
    import numpy as np

    pretrained = str(Path(__file__).parents[1] / "pretrained" / "mmnist_s_hr_vqvae")
    argv = ["predict", pretrained, "--input", "data:moving_mnist:0", "--samples", "3",
            "--horizon", "2", "--seed", "7", "--out", str(tmp_path / "p.png"), "num_test=2"]
    for name in ("a", "b"):
        assert main([*argv, "--frames-out", str(tmp_path / f"{name}.npy")]) == 0
    err = capsys.readouterr().err
    assert "predicting 2 frames x 3 samples with s_hr_vqvae: 3/3 (100%)" in err
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_evaluate_with_another_context_and_horizon_is_a_custom_protocol(tmp_path, capsys):
    out = tmp_path / "custom"
    assert main(["evaluate", "--model", "copy_last", "--protocol", "mmnist-10-10", "--context", "3", "--horizon", "2",
                 "--sequences", "2", "--out", str(out), "num_test=4"]) == 0
    protocol = json.loads((out / "metrics.json").read_text())["protocol"]
    assert protocol["name"] == "mmnist-10-10:custom-3-2" and protocol["custom"] is True
    assert (protocol["context"], protocol["horizon"]) == (3, 2) and "not the paper protocol" in protocol["source"]
    assert "mmnist-10-10:custom-3-2" in capsys.readouterr().out
