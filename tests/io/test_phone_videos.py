"""Videos as phones and other tools make them: a portrait video stored landscape with a rotation in its display
matrix, variable frame rate, GIF frame delays; and the mistakes a user makes pointing at them."""
from fractions import Fraction

import av
import numpy as np
import pytest

from vidpred.cli import main
from vidpred.inference import read_input
from vidpred.io.video import VideoReadError, read_video, video_info, write_video


def numbered_frames(count: int, height: int = 32, width: int = 48) -> np.ndarray:
    """uint8 (T, H, W, 3): frame i (< 32) is a flat grey of 8 * i, so a decoded frame says which one it is."""
    return np.repeat((8 * np.arange(count)).astype(np.uint8)[:, None, None, None], height * width * 3).reshape(
        count, height, width, 3)


def which(frame) -> int:
    """The number of a decoded ``numbered_frames`` frame."""
    return round(float(frame.mean()) / 8)


def encode(path, frames: np.ndarray, times: list[float] | None = None, rotation: int = 0) -> None:
    """H.264 MP4 of ``frames``, shown at ``times`` (seconds; default 30 fps) with a display rotation (degrees
    counter-clockwise, as FFmpeg reads it back)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"crf": "0", "bf": "0"})
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)  # timestamps in ms, as given
        if rotation:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = round(1000 * (times[i] if times else i / 30))
            frame.time_base = Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def test_a_portrait_phone_video_is_read_upright(tmp_path):
    frames = np.zeros((4, 32, 48, 3), dtype=np.uint8)
    frames[:, :, :8] = 255  # a bright band along the stored frame's left edge
    encode(tmp_path / "phone.mp4", frames, rotation=-90)  # what a phone held upright records: turn 90 clockwise
    video = read_video(tmp_path / "phone.mp4")
    assert video.shape == (4, 3, 48, 32)  # portrait, as players show it
    assert video[0, 0, :8].mean() > 200 and video[0, 0, -8:].mean() < 50  # the left edge is now the top
    assert video_info(tmp_path / "phone.mp4")[1:] == (32, 48)
    scaled = read_video(tmp_path / "phone.mp4", short_side=16)
    assert scaled.shape == (4, 3, 24, 16)


def test_start_in_seconds_follows_timestamps_on_a_variable_frame_rate_video(tmp_path):
    # frames at 0, 0.1, ..., 0.9 s, then a burst of 10 frames over the next 0.1 s, then slow again
    times = [i * 0.1 for i in range(10)] + [1.0 + i * 0.01 for i in range(10)] + [1.1 + i * 0.1 for i in range(10)]
    encode(tmp_path / "vfr.mp4", numbered_frames(30), times)
    fps = video_info(tmp_path / "vfr.mp4")[0]
    frames, label, _ = read_input(str(tmp_path / "vfr.mp4"), start="1.5s", length=2)
    # the frame shown at 1.5 s is frame 24 (shown from 1.5 s); an average rate would have picked round(1.5 * fps)
    assert which(frames[0]) == 24 and which(frames[1]) == 25
    assert round(1.5 * fps) != 24 and label.endswith("from 1.5 s")
    frames, _, _ = read_input(str(tmp_path / "vfr.mp4"), start="1.055s", length=1)
    assert which(frames[0]) == 15  # shown from 1.05 s to 1.06 s


def test_gif_frame_delays_are_its_frame_rate(tmp_path):
    frames = np.zeros((12, 3, 16, 48), np.uint8)
    for i in range(12):
        frames[i, :, :, 4 * i:4 * i + 4] = 255  # frame i: a white bar at column 4i (a palette keeps black and white)
    write_video(tmp_path / "clip.gif", frames, fps=10)
    assert video_info(tmp_path / "clip.gif")[0] == pytest.approx(10)
    decoded, _, _ = read_input(str(tmp_path / "clip.gif"), start="0.45s", length=3)
    assert [int(f[0, 0].argmax()) // 4 for f in decoded] == [4, 5, 6]


def test_a_start_past_the_end_says_what_the_video_holds(tmp_path, capsys):
    encode(tmp_path / "short.mp4", numbered_frames(30))
    for start, at in (("100", "frame 100"), ("5s", "5 s")):
        with pytest.raises(VideoReadError, match=rf"holds 30 frames \(1.00 s at 30 frames/s\): nothing starts at {at}"):
            read_input(str(tmp_path / "short.mp4"), start=start, length=4)
    assert main(["predict", "copy_last", "--input", str(tmp_path / "short.mp4"), "--start", "5s", "--context", "2",
                 "--horizon", "2", "--out", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nothing starts at 5 s" in err


def test_a_folder_of_videos_or_a_bad_data_index_is_one_sentence(tmp_path, capsys):
    (tmp_path / "videos").mkdir()
    encode(tmp_path / "videos" / "a.mp4", numbered_frames(4))
    encode(tmp_path / "videos" / "b.mp4", numbered_frames(4))
    assert main(["predict", "copy_last", "--input", str(tmp_path / "videos"), "--out", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert "is a folder without image frames" in err and "it holds 2 videos (a.mp4, b.mp4); give one of them" in err
    assert main(["predict", "copy_last", "--input", "data:moving_mnist:abc", "--out", str(tmp_path / "p.png"),
                 "num_test=3"]) == 2
    err = capsys.readouterr().err
    assert "data:moving_mnist:abc: after the data set's name comes the number of a test clip, 0 to 2" in err
    assert main(["predict", "copy_last", "--input", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "p.png")]) == 2
    assert "no such video file or frame folder" in capsys.readouterr().err


def test_the_python_api_takes_channels_last_uint8_and_gives_numpy_back():
    import vidpred

    model = vidpred.load("copy_last")
    clip = numbered_frames(6, 80, 80)  # (T, H, W, 3) uint8, as PyAV, imageio and OpenCV return it
    out = vidpred.predict(model, clip, horizon=3)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (1, 3, 64, 64, 1)
    assert np.all(out[0, 0] == 40)  # the last context frame (grey 40), in the input's layout
    rgba = np.concatenate([clip, np.full(clip.shape[:3] + (1,), 255, np.uint8)], axis=-1)
    assert vidpred.predict(model, rgba, horizon=1).shape == (1, 1, 64, 64, 1)
    floats = vidpred.predict(model, clip.transpose(0, 3, 1, 2) / 255.0, horizon=2)
    assert floats.dtype != np.uint8 and floats.shape == (1, 2, 1, 64, 64)
    with pytest.raises(ValueError, match=r"\(T, C, H, W\) or \(T, H, W, C\)"):
        vidpred.predict(model, np.zeros((6, 5, 7, 9), np.uint8), horizon=1)


def test_the_domain_warning_comes_from_the_python_api_and_evaluate(tmp_path, recwarn):
    import vidpred
    from vidpred.data import build_dataset, data_config
    from vidpred.eval.protocol import EvalSettings, evaluate, get_protocol

    model = vidpred.load("pretrained/smmnist_vrnn")  # trained on Moving MNIST digits: dark frames
    digits = build_dataset(data_config("moving_mnist", num_test=2), "test")
    vidpred.predict(model, digits[0][:5].numpy(), horizon=1)
    assert not [w for w in recwarn if "trained on" in str(w.message)]
    bright = np.full((5, 64, 64, 1), 200, np.uint8)
    with pytest.warns(UserWarning, match="the model was trained on stochastic_moving_mnist .* expect a prediction"):
        vidpred.predict(model, bright, horizon=1)
    settings = EvalSettings(num_samples=1, max_sequences=2, data_overrides={"num_test": 2})
    evaluate(model, get_protocol("mmnist-10-10"), settings)
    assert not [w for w in recwarn if "trained on" in str(w.message)]
    model.trained_on = {**model.trained_on, "clip_mean_range": [0.8, 0.9], "mean_intensity": 0.85}
    with pytest.warns(UserWarning, match="the moving_mnist test data is grey, mean intensity 0.0"):
        evaluate(model, get_protocol("mmnist-10-10"), settings)
