"""Prediction on any video: read it, fit it to the model's frames, predict, write a grid.

``vidpred.predict(model, frames, horizon, num_samples)`` is the Python entry point; ``vidpred predict`` the
command. Frames are fitted to the model the way the data sets do it: centre square crop, bilinear resize,
grey <-> RGB conversion (with a note saying so).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from vidpred.config import ConfigError
from vidpred.data.base import transform_frames, unlike_training_data
from vidpred.io.outputs import count
from vidpred.models.base import Predictor


def parse_start(text: str | int | None) -> tuple[float, str]:
    """``--start``: a frame index (``"120"``) or a time in seconds (``"4.5s"``) -> (value, "frames" | "seconds")."""
    if text is None:
        return 0, "frames"
    spec = str(text).strip()
    try:
        if spec.endswith("s"):
            value, unit = float(spec[:-1]), "seconds"
        else:
            value, unit = int(spec), "frames"
    except ValueError:
        raise ConfigError(f"--start {text}: give a frame index (120) or a time in seconds (4.5s)") from None
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"--start {text}: must be 0 or later")
    return value, unit


def read_input(spec: str, data_fields: dict | None = None, start: str | int | None = None,
               length: int | None = None, short_side: int | None = None) -> tuple[np.ndarray, str, tuple[int, int]]:
    """uint8 ``(T, C, H, W)`` frames from a video file, a frame folder, or ``data:NAME[:INDEX]`` (a test clip of
    the data set configured with ``data_fields``): ``length`` frames (None: all) from ``start`` (a frame index or
    ``"4.5s"``), a label, and the source's frame size (width, height). Files are decoded only up to the last
    frame wanted, and with ``short_side`` scaled down by the decoder while decoding: a long high-resolution video
    costs what its few needed small frames cost."""
    first, unit = parse_start(start)
    if spec.startswith("data:"):
        from vidpred.data import build_dataset, data_config

        if unit == "seconds":
            raise ConfigError(f"--start {start}: a data set clip has no time; give a frame index")
        name, _, index = spec[5:].partition(":")
        dataset = build_dataset(data_config(name, **(data_fields or {})), "test")
        if index and not index.lstrip("-").isdigit():
            raise ConfigError(f"{spec}: after the data set's name comes the number of a test clip, 0 to "
                              f"{len(dataset) - 1} (data:{name}:7)")
        i = int(index) if index else 0
        if not 0 <= i < len(dataset):
            raise ConfigError(f"{spec}: the test split of {name} has {len(dataset)} clips (0..{len(dataset) - 1})")
        frames = dataset.frames(i)[int(first):]
        frames = frames if length is None else frames[:length]
        if not len(frames):
            raise ConfigError(f"--start {start}: {name} test clip {i} has {len(dataset.frames(i))} frames")
        return frames, f"{name} test clip {i}", (frames.shape[3], frames.shape[2])
    from vidpred.io.video import read_video, video_info

    path = Path(spec)
    if not path.exists():
        raise ConfigError(f"--input {spec}: no such video file or frame folder (or data:NAME[:INDEX] for a test clip)")
    scaled = path.is_file() and path.suffix.lower() != ".gif"  # what read_video scales while decoding
    _, width, height = video_info(spec) if scaled else (None, 0, 0)
    seconds = first if unit == "seconds" else None
    first = 0 if unit == "seconds" else int(first)
    frames = read_video(spec, start=first, end=None if length is None else first + length, short_side=short_side,
                        start_seconds=seconds)
    size = (width, height) if scaled else (frames.shape[3], frames.shape[2])
    where = f" from {seconds:g} s" if seconds else f" from frame {first}" if first else ""
    return frames, f"{spec}{where}", size


def as_channels_first(array: np.ndarray) -> tuple[np.ndarray, bool]:
    """A clip as ``(T, C, H, W)`` with C = 1 or 3, and whether it came channels-last: readers differ (PyAV, imageio
    and OpenCV give ``(T, H, W, C)``, RGBA included, whose alpha is dropped; torch code ``(T, C, H, W)``; a grey clip
    may be ``(T, H, W)``)."""
    if array.ndim == 3:
        return array[:, None], False
    if array.ndim != 4:
        raise ValueError(f"a clip has shape (T, C, H, W) or (T, H, W, C); got an array of shape {array.shape}")
    first, last = array.shape[1] in (1, 3), array.shape[-1] in (1, 3, 4)
    if last and not first:
        return np.moveaxis(array[..., :3] if array.shape[-1] == 4 else array, -1, 1), True
    if first:
        return array, False
    raise ValueError(f"a clip has shape (T, C, H, W) or (T, H, W, C) with C = 1 or 3 (4: RGBA); got {array.shape}")


def fit_frames(frames, model: Predictor, source_size: tuple[int, int] | None = None,
               trained_on: dict | None = None) -> tuple[torch.Tensor, list[str], str | None]:
    """Frames ``(T, C, H, W)`` or ``(T, H, W, C)`` (uint8, or float in [0, 1]; numpy or torch) -> float
    ``(T, C', S, S)`` for the model, and notes on what was changed (``source_size``: the (width, height) the frames
    had before a decoder scaled them), and -- given what the model was trained on (``models.io.training_data``) --
    one line when the input is unlike it (None when it is alike)."""
    from vidpred.io.video import to_uint8_frames

    array = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    array, _ = as_channels_first(array)
    if array.dtype != np.uint8 and array.size and np.isfinite(array).all() and (array.min() < 0 or array.max() > 1):
        raise ValueError(f"float frames must lie in [0, 1]; these span [{array.min():.3g}, {array.max():.3g}]")
    rgb = to_uint8_frames(array).transpose(0, 3, 1, 2)  # shape and NaN checks; uint8 (T, 3, H, W)
    c, s = model.config.channels, model.config.image_size
    # readers give RGB; a grey video decoded to three equal channels is grey, and needs no note for a grey model
    grey = array.shape[1] == 1 or bool((rgb[:, 0] == rgb[:, 1]).all() and (rgb[:, 1] == rgb[:, 2]).all())
    fitted = torch.from_numpy(transform_frames(rgb, s, c, "center")).float().div_(255.0)
    unlike = unlike_training_data(fitted, grey, trained_on) if trained_on else None
    notes = []
    if grey != (c == 1) and not unlike:  # the unlike line says what a conversion note would, and more
        notes.append(f"converted {'grey' if grey else 'colour'} frames to {'grey' if c == 1 else 'colour'} for the "
                     "model")
    width, height = source_size or (array.shape[3], array.shape[2])
    if (height, width) != (s, s):
        notes.append(f"cropped and resized {width}x{height} frames to {s}x{s}")
    return fitted, notes, unlike


def predict(model: Predictor, frames, horizon: int, num_samples: int = 1, context: int | None = None,
            seed: int | None = None, temperature: float = 1.0):
    """Predict ``horizon`` frames after the first ``context`` frames of ``frames`` (all of them if None).

    ``frames``: one clip, numpy or torch, ``(T, C, H, W)`` or ``(T, H, W, C)`` as video readers return it (PyAV,
    imageio, OpenCV; a grey ``(T, H, W)`` too), uint8 or float in [0, 1], any size: it is centre-cropped and resized
    to the model's ``S x S`` frames with its ``C`` channels. Returns the predicted frames in the input's kind:
    ``(num_samples, horizon, C, S, S)`` -- or ``(num_samples, horizon, S, S, C)`` for a channels-last input --
    numpy for numpy input and torch otherwise, uint8 for uint8 input and float in [0, 1] otherwise. A model loaded
    from a folder warns (``UserWarning``) when the input looks nothing like its training data.
    """
    array = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    channels_last = as_channels_first(array)[1]
    trained_on = getattr(model, "trained_on", None)
    clip, _, unlike = fit_frames(frames, model, trained_on=trained_on)
    if unlike:
        warnings.warn(unlike, stacklevel=3)  # at the caller of vidpred.predict
    out = _predicted(model, clip, horizon, num_samples, context, seed, temperature)
    if channels_last:
        out = out.permute(0, 1, 3, 4, 2)
    if array.dtype == np.uint8:
        out = out.mul(255).round_().to(torch.uint8)
    return out if isinstance(frames, torch.Tensor) else out.numpy()


def _predicted(model: Predictor, clip: torch.Tensor, horizon: int, num_samples: int, context: int | None,
               seed: int | None, temperature: float) -> torch.Tensor:
    """float ``(num_samples, horizon, C, S, S)``: ``model``'s prediction from the first ``context`` frames of the
    fitted ``clip``."""
    k = len(clip) if context is None else context
    if k > len(clip):
        raise ValueError(f"the input has {len(clip)} frames; a context of {k} frames needs at least {k}")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    out = model.predict(clip[None, :k].to(device), horizon, num_samples, generator=generator, temperature=temperature)
    return out[0].cpu()


def predict_to_file(model: Predictor, source: str, out: str | Path, context: int | None, horizon: int | None,
                    samples: int, seed: int | None, temperature: float, frames_out: str | None = None,
                    data_fields: dict | None = None, start: str | int | None = None,
                    trained_on: dict | None = None, shown_as: str | Path | None = None) -> list[str]:
    """The ``vidpred predict`` command's work; returns the notes to print (``trained_on``: see ``fit_frames``;
    ``shown_as``: the grid's name in them, where ``out`` is a temporary name)."""
    from vidpred.io.grid import GridRow, write_grid

    k = model.config.num_context if context is None else context
    h = model.config.num_predicted if horizon is None else horizon
    if k < 1 or h < 1:
        raise ConfigError(f"context ({k}) and horizon ({h}) must each be at least 1 frame")
    # the context and the frames to compare with, no more, decoded at the model's size
    raw, label, size = read_input(source, data_fields, start, length=k + h, short_side=model.config.image_size)
    clip, notes, unlike = fit_frames(raw, model, size, trained_on)
    notes = [unlike, *notes] if unlike else notes
    if len(clip) < k:
        raise ConfigError(f"{label} has {len(clip)} frames; --context {k} needs at least {k}")
    if k < model.min_context:
        raise ConfigError(f"--context {k}: the model needs at least {model.min_context} context frames")
    if temperature != 1.0 and not model.uses_temperature:
        notes.append(f"{model.config.name} does not sample with a temperature; --temperature has no effect")
    # in up to ten batches of samples, so a long sampling run shows that it moves (and holds a tenth of the work in
    # memory at a time); batch b is seeded with seed + its first sample's index: reproducible for one --seed
    from vidpred.progress import Progress

    per_batch, parts = -(-samples // 10), []
    with Progress(f"predicting {count(h, 'frame')} x {count(samples, 'sample')} with {model.config.name}",
                  samples) as progress:
        for first in range(0, samples, per_batch):
            n = min(per_batch, samples - first)
            parts.append(_predicted(model, clip, h, n, k, None if seed is None else seed + first, temperature))
            progress.advance(n)
    prediction = torch.cat(parts)  # (S, h, C, H, W)
    rows = []
    truth = clip[: k + h]
    if len(truth) > k:
        rows.append(GridRow(truth, "ground truth", k))
    else:
        rows.append(GridRow(clip[:k], "context", k))
    for i, sample in enumerate(prediction):
        rows.append(GridRow(torch.cat([clip[:k], sample]), f"sample {i + 1}", k, predicted=True))
    write_grid(out, rows, fps=4.0)
    if frames_out:
        Path(frames_out).parent.mkdir(parents=True, exist_ok=True)  # as write_grid does for the grid
        np.save(frames_out, prediction.numpy().astype(np.float32), allow_pickle=False)
    notes.append(f"wrote {shown_as or out} ({label}: {count(k, 'context frame')}, {h} predicted, "
                 f"{count(samples, 'sample')})")
    return notes
