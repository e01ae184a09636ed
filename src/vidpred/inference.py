"""Prediction on any video: read it, fit it to the model's frames, predict, write a grid.

``vidpred.predict(model, frames, horizon, num_samples)`` is the Python entry point; ``vidpred predict`` the
command. Frames are fitted to the model the way the data sets do it: centre square crop, bilinear resize,
grey <-> RGB conversion (with a note saying so).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vidpred.config import ConfigError
from vidpred.data.base import transform_frames
from vidpred.models.base import Predictor


def read_input(spec: str, data_fields: dict | None = None) -> tuple[np.ndarray, str]:
    """uint8 ``(T, C, H, W)`` frames from a video file, a frame folder, or ``data:NAME[:INDEX]`` (a test clip of
    the data set configured with ``data_fields``)."""
    if spec.startswith("data:"):
        from vidpred.data import build_dataset, data_config

        name, _, index = spec[5:].partition(":")
        dataset = build_dataset(data_config(name, **(data_fields or {})), "test")
        i = int(index) if index else 0
        if not 0 <= i < len(dataset):
            raise ConfigError(f"{spec}: the test split of {name} has {len(dataset)} clips (0..{len(dataset) - 1})")
        return dataset.frames(i), f"{name} test clip {i}"
    from vidpred.io.video import read_video

    return read_video(spec), spec


def fit_frames(frames, model: Predictor) -> tuple[torch.Tensor, list[str]]:
    """Frames ``(T, C, H, W)`` (uint8, or float in [0, 1]; numpy or torch) -> float ``(T, C', S, S)`` for the model."""
    from vidpred.io.video import to_uint8_frames

    notes = []
    array = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if array.dtype != np.uint8 and array.size and np.isfinite(array).all() and (array.min() < 0 or array.max() > 1):
        raise ValueError(f"float frames must lie in [0, 1]; these span [{array.min():.3g}, {array.max():.3g}]")
    rgb = to_uint8_frames(array).transpose(0, 3, 1, 2)  # shape and NaN checks; uint8 (T, 3, H, W)
    c, s = model.config.channels, model.config.image_size
    if array.shape[1] != c:
        notes.append(f"converted {array.shape[1]}-channel frames to {c} channel(s) for the model")
    if array.shape[2:] != (s, s):
        notes.append(f"cropped and resized {array.shape[3]}x{array.shape[2]} frames to {s}x{s}")
    fitted = transform_frames(rgb, s, c, "center")
    return torch.from_numpy(fitted).float().div_(255.0), notes


def predict(model: Predictor, frames, horizon: int, num_samples: int = 1, context: int | None = None,
            seed: int | None = None, temperature: float = 1.0) -> torch.Tensor:
    """Predict ``horizon`` frames after the first ``context`` frames of ``frames`` (all of them if None).

    ``frames``: one clip ``(T, C, H, W)``, numpy or torch, uint8 or float in [0, 1]; any size (fitted to the
    model). Returns float ``(num_samples, horizon, C, S, S)`` in [0, 1].
    """
    clip, _ = fit_frames(frames, model)
    k = len(clip) if context is None else context
    if k > len(clip):
        raise ValueError(f"the input has {len(clip)} frames; a context of {k} frames needs at least {k}")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
    out = model.predict(clip[None, :k].to(device), horizon, num_samples, generator=generator, temperature=temperature)
    return out[0].cpu()


def predict_to_file(model: Predictor, source: str, out: str | Path, context: int | None, horizon: int | None,
                    samples: int, seed: int | None, temperature: float, frames_out: str | None = None,
                    data_fields: dict | None = None) -> list[str]:
    """The ``vidpred predict`` command's work; returns the notes to print."""
    from vidpred.io.grid import GridRow, write_grid

    raw, label = read_input(source, data_fields)
    clip, notes = fit_frames(raw, model)
    k = model.config.num_context if context is None else context
    h = model.config.num_predicted if horizon is None else horizon
    if k < 1 or h < 1:
        raise ConfigError(f"context ({k}) and horizon ({h}) must each be at least 1 frame")
    if len(clip) < k:
        raise ConfigError(f"{label} has {len(clip)} frames; --context {k} needs at least {k}")
    if k < model.min_context:
        raise ConfigError(f"--context {k}: the model needs at least {model.min_context} context frames")
    if temperature != 1.0 and not model.uses_temperature:
        notes.append(f"{model.config.name} does not sample with a temperature; --temperature has no effect")
    prediction = predict(model, clip, h, samples, context=k, seed=seed, temperature=temperature)  # (S, h, C, H, W)
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
    notes.append(f"wrote {out} ({label}: {k} context frames, {h} predicted, {samples} sample(s))")
    return notes
