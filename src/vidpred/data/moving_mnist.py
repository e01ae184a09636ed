"""Moving MNIST (Srivastava et al. 2015), the setting of S-HR-VQVAE's Table 2.

Two 28x28 digits move inside a 64x64 frame for 20 frames. Each starts at a uniform position with a uniform
direction and a constant speed, and bounces deterministically off the walls (mirror reflection: the
velocity component normal to the wall flips sign, nothing else ever changes it). Overlapping digits are
combined with a pixel-wise maximum, as in the original generator. Speed: the original moves each digit
0.1 of the free range per frame; with 64 - 28 = 36 free pixels that is 3.6 pixels per frame. Positions are
real-valued and rounded to whole pixels when drawn.

Test split: the fixed, seeded test set (10,000 sequences by default), or the standard ``mnist_test_seq.npy``
(20 x 10000 x 64 x 64, uint8) when ``test_npy`` names it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidpred.data.base import DataError, DatasetSpec
from vidpred.data.cache import VideoRecord
from vidpred.data.synthetic import DigitDataConfig, Trajectory, build_digit_dataset, prepare_test_set


@dataclass
class MovingMNISTConfig(DigitDataConfig):
    name: str = "moving_mnist"
    speed: float = 3.6  # pixels per frame (Srivastava et al.: 0.1 of the 36-pixel free range)
    test_npy: str | None = None  # the standard mnist_test_seq.npy, used as the test split when set

    def validate(self) -> None:
        super().validate()
        if self.speed < 0:
            raise ValueError(f"speed must be non-negative, got {self.speed}")


def trajectory(cfg: MovingMNISTConfig, rng: np.random.Generator) -> Trajectory:
    limit = cfg.image_size - cfg.digit_size  # top-left corner stays in [0, limit]
    position = rng.uniform(0, limit, size=(cfg.num_digits, 2))
    angle = rng.uniform(0, 2 * np.pi, size=cfg.num_digits)
    velocity = cfg.speed * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    positions, velocities = [position.copy()], [velocity.copy()]
    for _ in range(cfg.num_frames - 1):
        position = position + velocity
        low, high = position < 0, position > limit
        position = np.where(low, -position, np.where(high, 2 * limit - position, position))
        velocity = np.where(low | high, -velocity, velocity)
        positions.append(position.copy())
        velocities.append(velocity.copy())
    return Trajectory(np.stack(positions), np.stack(velocities))


def generate(cfg: MovingMNISTConfig, digits: np.ndarray, rng: np.random.Generator):
    chosen = digits[rng.integers(0, len(digits), size=cfg.num_digits)]
    path = trajectory(cfg, rng)
    frames = np.zeros((cfg.num_frames, 1, cfg.image_size, cfg.image_size), dtype=np.uint8)
    d = cfg.digit_size
    corners = np.rint(path.positions).astype(int)  # (T, digits, 2)
    for t in range(cfg.num_frames):
        for k in range(cfg.num_digits):
            r, c = corners[t, k]
            window = frames[t, 0, r:r + d, c:c + d]
            np.maximum(window, chosen[k], out=window)
    return frames, path


class NpySequences:
    """The standard ``mnist_test_seq.npy`` (T, N, 64, 64) as a source of test videos."""

    def __init__(self, cfg: MovingMNISTConfig):
        path = Path(cfg.test_npy).expanduser()
        if not path.is_file():
            raise DataError(f"test_npy {path} does not exist; expected mnist_test_seq.npy (20 x 10000 x 64 x 64)")
        self.array = np.load(path, mmap_mode="r", allow_pickle=False)
        if self.array.ndim != 4 or self.array.dtype != np.uint8:
            raise DataError(f"{path}: expected a uint8 array (T, N, H, W), got {self.array.dtype} {self.array.shape}")
        if self.array.shape[2:] != (cfg.image_size, cfg.image_size):
            raise DataError(f"{path} holds {self.array.shape[2]}x{self.array.shape[3]} frames; set image_size to match")
        self.channels = cfg.channels
        self.videos = [VideoRecord(f"{i:05d}", "test", self.array.shape[0]) for i in range(self.array.shape[1])]

    def read(self, video: int, frame_ids) -> np.ndarray:
        frames = np.array(self.array[np.asarray(frame_ids), video])[:, None]  # (T, 1, H, W)
        return np.repeat(frames, self.channels, axis=1)


def build(cfg: MovingMNISTConfig, split: str):
    return build_digit_dataset(cfg, split, generate, NpySequences if cfg.test_npy else None)


def prepare(cfg: MovingMNISTConfig, out: Path) -> dict:
    if cfg.test_npy:
        raise DataError("test_npy is read directly, memory-mapped: it needs no prepare")
    return prepare_test_set(cfg, out, generate)


SPEC = DatasetSpec(
    name="moving_mnist", config_cls=MovingMNISTConfig, build=build, prepare=prepare,
    description="Moving MNIST (Srivastava 2015): 2 digits, 64x64, 20 frames, deterministic bounces; "
                "train generated on the fly, fixed seeded test set")
