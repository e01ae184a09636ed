"""What the generated data sets (Moving MNIST, Stochastic Moving MNIST) share.

Test sequence ``i`` is generated from the random stream seeded by ``(seed, i)``, so the fixed test set is
the same on every machine and any single sequence can be regenerated. The test set is cached once as a
uint8 store (under ``$VIDPRED_CACHE``, or where ``cache=`` says). Training sequence ``g`` is generated on
the fly from the stream seeded by ``(seed, TRAIN_STREAM, g)``: any index is a fresh, reproducible sequence,
so the training loader asks for new indices every pass (``unbounded``) and never sees a sequence twice. The
validation split (``num_test`` sequences, for ``vidpred tune``) comes from the training digits through a stream of
its own, ``(seed, VALIDATION_STREAM, i)``, which no training run reads.
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from vidpred.data import mnist_digits
from vidpred.data.base import VALIDATION, ClipDataset, DataConfig, check_split, open_store
from vidpred.data.cache import FrameStore, StoreWriter, default_cache_root
from vidpred.io.outputs import staged_outputs
from vidpred.progress import track

TRAIN_STREAM = 1  # keeps training streams apart from test sequence i, seeded by (seed, i)
VALIDATION_STREAM = 2

# generate(cfg, digits, rng) -> (uint8 frames (T, 1, H, W), trajectory)
Generator = Callable[[DataConfig, np.ndarray, np.random.Generator], tuple[np.ndarray, "Trajectory"]]


@dataclass
class Trajectory:
    """Where each digit was: ``positions`` (T, digits, 2) as (row, col) of its top-left corner, and
    ``velocities`` (T, digits, 2): the velocity with which it leaves frame t; ``wall_hits`` (T, digits), where the
    generator knows them: True where the digit reached a wall in frame t (its next velocity is then drawn anew)."""
    positions: np.ndarray
    velocities: np.ndarray
    wall_hits: np.ndarray | None = None


@dataclass
class DigitDataConfig(DataConfig):
    """Fields of the MNIST-digit data sets."""
    # The generated test set depends on num_frames; the training epoch size does not touch it.
    NOT_STORED: ClassVar[tuple[str, ...]] = ("cache", "frame_stride", "clip_step", "train_size")
    num_digits: int = 2
    digit_size: int = 28
    seed: int = 0  # the test set's seed
    num_test: int = 10000
    train_size: int = 10000  # sequences per training epoch (each one freshly generated)
    mnist_dir: str | None = None  # full MNIST idx files instead of the 5,000 shipped digits

    def validate(self) -> None:
        super().validate()
        if self.num_digits < 1:
            raise ValueError(f"num_digits must be at least 1, got {self.num_digits}")
        if not 1 <= self.digit_size <= self.image_size:
            raise ValueError(f"digit_size {self.digit_size} must be between 1 and image_size {self.image_size}")
        if self.num_test < 1 or self.train_size < 1:
            raise ValueError("num_test and train_size must be at least 1")


def scaled_digits(cfg: DigitDataConfig, split: str) -> np.ndarray:
    """The split's digits at ``cfg.digit_size`` (bilinear resize when it is not 28)."""
    images = mnist_digits.digits(split, cfg.mnist_dir)
    if cfg.digit_size == images.shape[-1]:
        return images
    resized = torch.nn.functional.interpolate(torch.from_numpy(images).float()[:, None], size=cfg.digit_size,
                                              mode="bilinear", antialias=True, align_corners=False)
    return resized[:, 0].round().clamp(0, 255).to(torch.uint8).numpy()


def with_channels(frames: np.ndarray, channels: int) -> np.ndarray:
    return np.repeat(frames, channels, axis=1) if channels != frames.shape[1] else frames


class GeneratedClips(torch.utils.data.Dataset):
    """Generated sequences of the training digits: index ``g`` (any non-negative integer) is a reproducible fresh
    sequence of the training stream. ``len`` is ``train_size``, the sequences of one epoch for code that iterates by
    epochs. ``validation=True``: the ``num_test`` sequences of the validation stream, a fixed set like the test's."""

    def __init__(self, cfg: DigitDataConfig, generate: Generator, validation: bool = False):
        self.cfg, self.generate, self.validation = cfg, generate, validation
        self.unbounded = not validation
        self.digits = scaled_digits(cfg, "train")

    def __len__(self) -> int:
        return self.cfg.num_test if self.validation else self.cfg.train_size

    def frames(self, index: int) -> np.ndarray:
        if index < 0 or self.validation and index >= len(self):
            limits = f"0 to {len(self) - 1}" if self.validation else "non-negative"
            raise IndexError(f"sequence {index} is out of range ({limits})")
        stream = VALIDATION_STREAM if self.validation else TRAIN_STREAM
        rng = np.random.default_rng([self.cfg.seed, stream, int(index)])
        frames, _ = self.generate(self.cfg, self.digits, rng)
        return with_channels(frames, self.cfg.channels)

    def clip_id(self, index: int) -> str:
        return f"{VALIDATION if self.validation else 'train'}{index}"

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(self.frames(index)).float().div_(255.0)


def fixed_test_sequence(cfg: DigitDataConfig, generate: Generator, index: int, digits: np.ndarray | None = None):
    """Test sequence ``index`` of the fixed test set: (uint8 frames (T, C, H, W), trajectory)."""
    digits = scaled_digits(cfg, "test") if digits is None else digits
    frames, trajectory = generate(cfg, digits, np.random.default_rng([cfg.seed, index]))
    return with_channels(frames, cfg.channels), trajectory


def prepare_test_set(cfg: DigitDataConfig, out: Path, generate: Generator) -> dict:
    """Generate the fixed test set into a store at ``out``."""
    digits = scaled_digits(cfg, "test")
    writer = StoreWriter(out, cfg.name, cfg.content_dict())
    for i in track(range(cfg.num_test), f"generating the {cfg.name} test set"):
        frames, _ = fixed_test_sequence(cfg, generate, i, digits)
        writer.add(f"{i:05d}", "test", frames)
    return writer.close()


def auto_cache_dir(cfg: DigitDataConfig) -> Path:
    """Cache folder named by a hash of everything that decides the test set's content."""
    key = hashlib.sha1(json.dumps(cfg.content_dict(), sort_keys=True).encode()).hexdigest()[:12]
    return default_cache_root() / f"{cfg.name}-test-{key}"


def build_digit_dataset(cfg: DigitDataConfig, split: str, generate: Generator,
                        test_source: Callable[[DigitDataConfig], object] | None = None):
    """Train and validation: generated on the fly. Test: the fixed set from ``test_source``, ``cfg.cache``, or the
    auto cache."""
    if check_split(split) in ("train", VALIDATION):
        return GeneratedClips(cfg, generate, validation=split == VALIDATION)
    if test_source is not None:
        source = test_source(cfg)
    elif cfg.cache:
        source = open_store(cfg)
    else:
        folder = auto_cache_dir(cfg)
        if not (folder / "index.json").is_file():
            print(f"vidpred: building the fixed {cfg.name} test set once, cached in {folder}", file=sys.stderr)
            with staged_outputs() as staged:  # whole or absent, also when two processes build it at once
                prepare_test_set(cfg, staged.folder(folder), generate)
        source = FrameStore(folder)
    return ClipDataset(source, "test", cfg.num_frames, cfg.frame_stride, cfg.clip_step)
