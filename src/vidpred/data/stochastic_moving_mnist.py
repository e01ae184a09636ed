"""Stochastic Moving MNIST (Denton & Fergus 2018, §4.2).

One or two MNIST digits in a 64x64 frame. Start positions are uniform and start velocities uniform in
[-4, 4]^2; a digit moves with constant velocity until it hits a wall, and at every wall hit a new random
velocity is drawn. The paper says no more; we follow the SVG release in the details: digits are resized
to 32x32, positions and velocities are whole pixels, the new velocity's component normal to the wall
points away from it with a magnitude uniform in {1..4} while the other component is uniform in
{-4..4}, the digit is stopped at the wall in the step it hits, and overlapping digits are added
(clipped at white).

Default frame count 25: conditioning on 5 frames and evaluating out to 20 predicted frames (SVG Fig. 7).
Default test set: 1,000 sequences (the paper does not give a size).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidpred.data.base import DatasetSpec
from vidpred.data.synthetic import DigitDataConfig, Trajectory, build_digit_dataset, prepare_test_set, scaled_digits


@dataclass
class StochasticMovingMNISTConfig(DigitDataConfig):
    name: str = "stochastic_moving_mnist"
    num_frames: int = 25
    digit_size: int = 32
    num_test: int = 1000
    max_speed: int = 4  # velocities are drawn from {-max_speed..max_speed} (§4.2: [-4, 4])

    def validate(self) -> None:
        super().validate()
        if self.num_digits not in (1, 2):
            raise ValueError(f"num_digits must be 1 or 2 (SVG §4.2), got {self.num_digits}")
        if self.max_speed < 1:
            raise ValueError(f"max_speed must be at least 1, got {self.max_speed}")


def trajectory(cfg: StochasticMovingMNISTConfig, rng: np.random.Generator) -> Trajectory:
    limit = cfg.image_size - cfg.digit_size
    m = cfg.max_speed
    position = rng.integers(0, limit + 1, size=(cfg.num_digits, 2))
    velocity = rng.integers(-m, m + 1, size=(cfg.num_digits, 2))
    positions, velocities = [position.copy()], [velocity.copy()]
    hits = np.zeros((cfg.num_frames, cfg.num_digits), dtype=bool)
    for t in range(1, cfg.num_frames):
        position = position + velocity
        for k in range(cfg.num_digits):
            low, high = position[k] < 0, position[k] > limit
            if not (low.any() or high.any()):
                continue
            hits[t, k] = True
            position[k] = np.clip(position[k], 0, limit)
            new = rng.integers(-m, m + 1, size=2)
            away = rng.integers(1, m + 1, size=2)
            velocity[k] = np.where(low, away, np.where(high, -away, new))
        positions.append(position.copy())
        velocities.append(velocity.copy())
    return Trajectory(np.stack(positions), np.stack(velocities), hits)


def render(cfg: StochasticMovingMNISTConfig, chosen: np.ndarray, path: Trajectory) -> np.ndarray:
    """The frames (T, 1, H, W) uint8 of digits ``chosen`` (digits, d, d) moving along ``path``."""
    canvas = np.zeros((cfg.num_frames, 1, cfg.image_size, cfg.image_size), dtype=np.uint16)
    d = cfg.digit_size
    for t in range(cfg.num_frames):
        for k in range(cfg.num_digits):
            r, c = path.positions[t, k]
            canvas[t, 0, r:r + d, c:c + d] += chosen[k].astype(np.uint16)
    return np.minimum(canvas, 255).astype(np.uint8)


def generate(cfg: StochasticMovingMNISTConfig, digits: np.ndarray, rng: np.random.Generator):
    chosen = digits[rng.integers(0, len(digits), size=cfg.num_digits)]
    path = trajectory(cfg, rng)
    return render(cfg, chosen, path), path


def synchronized(cfg: StochasticMovingMNISTConfig, count: int, seed: int = 0) -> tuple[np.ndarray, Trajectory]:
    """``count`` sequences (count, T, 1, H, W) uint8 whose digits follow one trajectory (drawn from ``seed``) but
    are different test digits, and that trajectory with its wall hits: the set-up of SVG's Figure 6, where the
    true moments of uncertainty are the same in every sequence."""
    digits = scaled_digits(cfg, "test")
    rng = np.random.default_rng([seed, 7])
    path = trajectory(cfg, rng)
    frames = [render(cfg, digits[rng.integers(0, len(digits), size=cfg.num_digits)], path) for _ in range(count)]
    return np.stack(frames), path


def build(cfg: StochasticMovingMNISTConfig, split: str):
    return build_digit_dataset(cfg, split, generate)


def prepare(cfg: StochasticMovingMNISTConfig, out: Path) -> dict:
    return prepare_test_set(cfg, out, generate)


SPEC = DatasetSpec(
    name="stochastic_moving_mnist", config_cls=StochasticMovingMNISTConfig, build=build, prepare=prepare,
    description="Stochastic Moving MNIST (SVG §4.2): 1-2 digits, 64x64, new random velocity at every wall hit")
