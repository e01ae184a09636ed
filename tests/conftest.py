import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from vidpred.io.video import write_video

# The device the device-aware tests (the registry-wide model contract, cached sampling) run on: cpu, or e.g.
# VIDPRED_TEST_DEVICE=cuda on a GPU machine (benchmarks/release.py runs them there first).
TEST_DEVICE = os.environ.get("VIDPRED_TEST_DEVICE", "cpu")


@pytest.fixture
def device() -> torch.device:
    """``VIDPRED_TEST_DEVICE`` (default cpu); a CUDA device where there is none skips the test."""
    device = torch.device(TEST_DEVICE)
    if device.type == "cuda" and not torch.cuda.is_available():
        pytest.skip(f"VIDPRED_TEST_DEVICE={TEST_DEVICE}, but this machine has no CUDA device")
    return device


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Automatically built caches go to a temporary folder, never the user's ~/.cache."""
    monkeypatch.setenv("VIDPRED_CACHE", str(tmp_path_factory.getbasetemp() / "vidpred-cache"))


def moving_square(num_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """uint8 (T, 3, H, W): a bright square moving right over a dark gradient; frames differ from each other."""
    rng = np.random.default_rng(seed)
    video = np.zeros((num_frames, 3, height, width), dtype=np.uint8)
    video += np.linspace(0, 60, width, dtype=np.uint8)[None, None, None, :]
    size, top = height // 4, int(rng.integers(0, height - height // 4))
    for t in range(num_frames):
        left = (2 * t) % (width - size)
        video[t, :, top:top + size, left:left + size] = 230
    return video


@pytest.fixture
def write_clip():
    def write(path, num_frames=12, height=48, width=64, seed=0, fps=25.0):
        video = moving_square(num_frames, height, width, seed)
        write_video(path, video, fps=fps)
        return video
    return write


@pytest.fixture
def killed_at_first_checkpoint():
    """Start ``command`` (a ``vidpred train``), SIGKILL it as soon as ``checkpoint`` exists, and return the
    checkpoint's state (loaded weights-only)."""
    def run(command: list[str], checkpoint) -> dict:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        return torch.load(checkpoint, weights_only=True)
    return run


def tiny_config(tmp_path: Path, **trainer) -> Path:
    """A config file for a convlstm of a few hundred parameters on 32x32 Moving MNIST, with ``trainer`` settings."""
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "name": "tiny", "runs_dir": str(tmp_path / "runs"),
        "model": {"name": "convlstm", "hidden": [4], "kernel_size": 3, "patch_size": 4, "image_size": 32,
                  "num_context": 2, "num_predicted": 2},
        "data": {"name": "moving_mnist", "image_size": 32, "digit_size": 16, "num_frames": 4, "num_test": 8},
        "trainer": {"batch_size": 2, "sample_every": 0, "log_every": 1, **trainer}}))
    return config


@pytest.fixture
def tiny_run_config():
    """``tiny_config`` (above), for tests in other folders."""
    return tiny_config


@pytest.fixture
def square_clip():
    """``moving_square`` (above), for tests in other folders."""
    return moving_square
