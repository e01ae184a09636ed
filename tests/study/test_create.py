"""`vidpred study create`: both sources continue the same contexts, the videos are what each model made, and
sources that cannot be shown the same context are refused before any prediction."""
import numpy as np
import pytest

from vidpred.cli import main
from vidpred.config import ConfigError
from vidpred.data import build_dataset, data_config
from vidpred.eval.protocol import get_protocol
from vidpred.io.video import read_video, write_video
from vidpred.models.io import resolve_model, save_model
from vidpred.study.create import Source, check_pair
from vidpred.study.store import MEDIA_DIR, StudyStore

PROTOCOL = "mmnist-10-10"


def test_create_writes_both_models_continuations_of_the_same_contexts(tmp_path, capsys):
    folder = tmp_path / "study"
    assert main(["study", "create", str(folder), "--a", "copy_last", "--b", "blank", "--protocol", PROTOCOL,
                 "--clips", "3", "--samples", "2"]) == 0
    assert "6 pairs" in capsys.readouterr().out
    store = StudyStore.open(folder)
    meta, pairs = store.meta(), store.pairs()
    assert (meta["a"], meta["b"], meta["context_frames"], meta["predicted_frames"]) == ("copy_last", "blank", "10", "10")
    assert len(pairs) == 6 and len({p["context"] for p in pairs}) == 3
    test = build_dataset(data_config("moving_mnist", num_frames=20), "test")
    for position, pair in enumerate(pairs):  # pairs in order: context 0 sample 0, context 0 sample 1, ...
        index = position // 2
        assert pair["sample"] == position % 2
        for ext in (".mp4", ".webm"):
            context = read_video(folder / MEDIA_DIR / f"{pair['context']}{ext}")[:, 0].astype(float)
            a = read_video(folder / MEDIA_DIR / f"{pair['a']}{ext}")[:, 0].astype(float)
            b = read_video(folder / MEDIA_DIR / f"{pair['b']}{ext}")[:, 0].astype(float)
            truth = test[index][:10, 0].numpy() * 255
            assert context.shape == (10, 64, 64) and a.shape == b.shape == (10, 64, 64)
            assert np.abs(context - truth).mean() < 3  # the shared context is the test clip's (lossy codecs)
            assert np.abs(a - truth[-1]).mean() < 3  # copy_last repeats the last context frame
            assert b.max() < 8  # blank is black
    names = {p[k] for p in pairs for k in ("a", "b", "context")}
    assert all(len(n) == 16 and "copy" not in n and "blank" not in n for n in names)


def test_a_folder_of_predicted_videos_is_one_side(tmp_path):
    predictions = tmp_path / "predictions"
    rng = np.random.default_rng(0)
    made = {}
    for index in range(2):
        made[index] = (rng.random((10, 1, 64, 64)) > 0.97).astype(np.float32)
        write_video(predictions / f"{index:05d}.mp4", made[index], fps=8)
    folder = tmp_path / "study"
    assert main(["study", "create", str(folder), "--a", str(predictions), "--b", "blank", "--protocol", PROTOCOL,
                 "--clips", "2"]) == 0
    store = StudyStore.open(folder)
    for index, pair in enumerate(store.pairs()):
        shown = read_video(folder / MEDIA_DIR / f"{pair['a']}.mp4")[:, 0] / 255.0
        assert np.abs(shown - made[index][:, 0]).mean() < 0.03


def test_a_folder_missing_a_video_is_named_before_any_prediction(tmp_path, capsys):
    predictions = tmp_path / "predictions"
    write_video(predictions / "00000.mp4", np.zeros((10, 1, 64, 64), np.float32), fps=8)
    folder = tmp_path / "study"
    assert main(["study", "create", str(folder), "--a", str(predictions), "--b", "copy_last",
                 "--protocol", PROTOCOL, "--clips", "2"]) == 2
    assert "has no video 00001.mp4" in capsys.readouterr().err
    assert not folder.exists()  # nothing left behind


def _vrnn(**fields):
    """A tiny VRNN: it conditions on exactly its ``num_context`` frames."""
    import dataclasses

    from vidpred.models.registry import model_spec
    from vidpred.models.vrnn import VRNN

    return VRNN(dataclasses.replace(model_spec("vrnn").test_config(), **fields)).eval()


def test_models_with_different_frames_or_context_lengths_are_refused():
    protocol = get_protocol(PROTOCOL)
    data_cfg = data_config("moving_mnist", num_frames=20)
    size = _vrnn(image_size=64, channels=1, num_context=3)
    with pytest.raises(ConfigError, match="condition on different numbers of frames"):
        check_pair(Source("x", size), Source("y", _vrnn(image_size=64, channels=1, num_context=4)), protocol, data_cfg)
    with pytest.raises(ConfigError, match="see different frames: x takes 1-channel 64x64 frames .*; y takes 3-channel"):
        check_pair(Source("x", size), Source("y", _vrnn(image_size=64, channels=3, num_context=3)), protocol, data_cfg)
    # a model that takes any context gets the frames the fixed one conditions on: the same frames for both
    copy_last = resolve_model("copy_last", "cpu", image_size=64, channels=1)
    assert check_pair(Source("x", size), Source("y", copy_last), protocol, data_cfg) == 3
    assert check_pair(Source("x", copy_last), Source("y", copy_last), protocol, data_cfg) == 10
    with pytest.raises(ConfigError, match="the model takes 1-channel 32x32 frames; protocol mmnist-10-10 gives"):
        small = resolve_model("copy_last", "cpu", image_size=32, channels=1)
        check_pair(Source("x", small), Source("y", small), protocol, data_cfg)


def test_the_command_line_explains_a_refusal_in_one_sentence(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    save_model(_vrnn(image_size=64, channels=1, num_context=3), a)
    save_model(_vrnn(image_size=64, channels=1, num_context=4), b)
    assert main(["study", "create", str(tmp_path / "s"), "--a", str(a), "--b", str(b), "--protocol", PROTOCOL,
                 "--clips", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its last 3 context frames" in err and "its last 4 context frames" in err
    assert not (tmp_path / "s").exists()
