"""``vidpred study create``: the videos of a side-by-side study and its database.

Both sources -- a model (predicted here) or a folder of videos another tool predicted -- continue the same
contexts: the first ``clips`` test sequences of a protocol's data, cut to the conditioning frames both models use
(Walker et al. 2021 §5.2: "both models used the exact set of conditioning frames"). Each pair is one context and
sample ``k`` of each source. The videos are written twice, H.264 in MP4 and VP9 in WebM: the page offers both
and the browser plays the first it can (Debian's Chromium plays H.264; a Chromium built without it takes VP9).
The continuations hold the predicted frames only; the context clip is its own video, shown first.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import torch

from vidpred.config import ConfigError
from vidpred.eval.protocol import Protocol, check_frames
from vidpred.io.outputs import count
from vidpred.io.video import VIDEO_EXTENSIONS, read_video, write_video
from vidpred.progress import Progress
from vidpred.study.store import MEDIA_DIR, MEDIA_FORMATS, StudyStore


@dataclass
class Source:
    """One side of the study: a model, or a folder of predicted videos (``folder``), under the name ``label``."""
    label: str
    model: object | None = None
    folder: Path | None = None


def describe(source: Source) -> str:
    if source.model is None:
        return f"the videos in {source.folder}"
    cfg, fixed = source.model.config, source.model.max_context
    context = f"its last {fixed} context frames" if fixed else "all the context frames it is given"
    return (f"{source.label} takes {cfg.channels}-channel {cfg.image_size}x{cfg.image_size} frames and conditions "
            f"on {context}")


def check_pair(a: Source, b: Source, protocol: Protocol, data_cfg) -> int:
    """The number of conditioning frames both sources get, after refusing -- in one sentence naming what
    differs -- two models of different frame sizes or context lengths, or a model the protocol cannot feed."""
    models = [s for s in (a, b) if s.model is not None]
    if len(models) == 2:  # the two models against each other first: the sentence names both
        ca, cb = a.model.config, b.model.config
        if (ca.channels, ca.image_size) != (cb.channels, cb.image_size):
            raise ConfigError(f"the two models see different frames: {describe(a)}; {describe(b)}")
    fixed = {s.label: s.model.max_context for s in models if s.model.max_context}
    if len(set(fixed.values())) > 1:
        raise ConfigError(f"the two models condition on different numbers of frames ({describe(a)}; {describe(b)}), "
                          "so they cannot be shown the same context; compare models trained on the same context length")
    frames = min([protocol.context, *fixed.values()])
    for source in models:
        check_frames(source.model, data_cfg, f"protocol {protocol.name}")
        if frames < source.model.min_context:
            raise ConfigError(f"{source.label} needs at least {source.model.min_context} context frames; protocol "
                              f"{protocol.name} gives {frames}")
    return frames


def _folder_video(source: Source, index: int, sample: int, samples: int, horizon: int, data_cfg) -> torch.Tensor:
    """Sample ``sample`` of the folder's prediction for test sequence ``index``: ``NNNNN.EXT`` (or ``NNNNN_K.EXT``
    with several samples), its first ``horizon`` frames as ``(T, C, H, W)`` float in [0, 1]."""
    stem = f"{index:05d}" if samples == 1 else f"{index:05d}_{sample}"
    found = [source.folder / f"{stem}{ext}" for ext in VIDEO_EXTENSIONS if (source.folder / f"{stem}{ext}").is_file()]
    if not found:
        raise ConfigError(f"{source.folder} has no video {stem}.mp4 (or another video suffix) for test sequence "
                          f"{index}; a folder of predictions holds one video per sequence, named by its index")
    frames = read_video(found[0])
    size, channels = data_cfg.image_size, data_cfg.channels
    if frames.shape[0] < horizon or frames.shape[2:] != (size, size):
        raise ConfigError(f"{found[0]} has {count(frames.shape[0], 'frame')} of {frames.shape[3]}x{frames.shape[2]}; "
                          f"the study needs at least {horizon} of {size}x{size}")
    video = torch.from_numpy(frames[:horizon]).float().div_(255.0)
    return video[:, :1] if channels == 1 else video


def create_study(folder: str | Path, a: Source, b: Source, protocol: Protocol, clips: int, samples: int = 1,
                 seed: int = 0, fps: float = 8.0, device: str = "cpu", data_overrides: dict | None = None,
                 batch_size: int = 8) -> StudyStore:
    """Predict (or read) both sources' continuations of the same ``clips`` contexts, write the videos under
    ``folder/media`` and the pairs into a new study database. Every check runs before any prediction."""
    from vidpred.data import build_dataset, data_config

    data_cfg = data_config(protocol.data["name"], **{**{k: v for k, v in protocol.data.items() if k != "name"},
                                                     **(data_overrides or {})})
    frames = check_pair(a, b, protocol, data_cfg)
    for source in (a, b):
        if source.model is None and not source.folder.is_dir():
            raise ConfigError(f"{source.folder}: no such folder of predicted videos")
    dataset = build_dataset(data_cfg, "test")
    if clips > len(dataset):
        raise ConfigError(f"the test split of {data_cfg.name} has {count(len(dataset), 'clip')}; asked for {clips}")
    horizon = protocol.horizon
    for source in (a, b):  # a folder missing a video is named now, not after the other side's predictions
        if source.model is None:
            for index in range(clips):
                for k in range(samples):
                    _folder_video(source, index, k, samples, horizon, data_cfg)
    media = Path(folder) / MEDIA_DIR
    media.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator(device=device).manual_seed(seed)

    def write(video: torch.Tensor) -> str:
        stem = secrets.token_hex(8)  # random: the name never tells a rater which model made the video
        for ext in MEDIA_FORMATS:
            write_video(media / f"{stem}{ext}", video, fps=fps)
        return stem

    pairs = []
    with Progress(f"study: {count(clips, 'context')} x {count(samples, 'sample')}", clips) as progress:
        for begin in range(0, clips, batch_size):
            indices = list(range(begin, min(begin + batch_size, clips)))
            batch = torch.stack([dataset[i] for i in indices])
            context = batch[:, protocol.context - frames:protocol.context]
            continuations = {}
            for side, source in (("a", a), ("b", b)):
                if source.model is None:
                    continuations[side] = torch.stack([torch.stack(
                        [_folder_video(source, i, k, samples, horizon, data_cfg) for k in range(samples)])
                        for i in indices])
                else:
                    predicted = source.model.predict(context.to(device), horizon, samples, generator=generator)
                    continuations[side] = predicted.clamp(0, 1).cpu()
            for row, index in enumerate(indices):
                context_stem = write(context[row])
                clip_id = dataset.clip_id(index) if hasattr(dataset, "clip_id") else str(index)
                for k in range(samples):
                    pairs.append({"clip_id": clip_id, "sample": k, "context": context_stem,
                                  "a": write(continuations["a"][row, k]), "b": write(continuations["b"][row, k])})
            progress.advance(len(indices))
    meta = {"protocol": protocol.name, "a": a.label, "b": b.label, "clips": clips, "samples": samples,
            "context_frames": frames, "predicted_frames": horizon, "fps": fps, "seed": seed,
            "image_size": data_cfg.image_size, "channels": data_cfg.channels,
            "media": "H.264 in MP4 and VP9 in WebM (the browser plays the first it can)"}
    return StudyStore.create(folder, meta, pairs)

