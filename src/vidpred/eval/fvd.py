"""Fréchet Video Distance (Unterthiner et al. 2018).

FVD = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)) between Gaussians fitted to I3D embeddings of real
and generated videos, computed in float64 with scipy's ``sqrtm``.

The embedding network is the Kinetics-400 Inception-I3D (Carreira & Zisserman 2017), implemented here with
the module names of the PyTorch port whose state dict ``i3d_pretrained_400.pt`` VideoGPT and TATS use
(``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1b.bn.running_mean``, ..., ``logits.conv3d.bias``); that file is
the one supported, supplied by the user (``--i3d-weights`` or ``$VIDPRED_WEIGHTS_DIR``). StyleGAN-V's
TorchScript ``i3d_torchscript.pt`` is *not* loaded: running it would execute code from the file.
Embedding = the 400 Kinetics logits averaged over time (the layer the original FVD uses), for clips
resized to 224x224, scaled to [-1, 1], grey repeated to RGB.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import nn

from vidpred.eval.weights import check_and_load, find_weights, load_state_dict_file

I3D_FILE = "i3d_pretrained_400.pt"
FEATURE_DIM = 400


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (the I3D weights were trained with it): (before, after)."""
    total = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> torch.Tensor:
    pads = []
    for size, k, s in reversed(list(zip(x.shape[2:], kernel, stride))):  # F.pad wants the last dim first
        pads += list(_same_padding(size, k, s))
    return F.pad(x, pads)


class Unit3D(nn.Module):
    """Conv3d with 'SAME' padding, then batch norm (eps 1e-3) and ReLU, as in I3D."""

    def __init__(self, cin: int, cout: int, kernel=(1, 1, 1), stride=(1, 1, 1), norm_and_relu: bool = True):
        super().__init__()
        self.kernel, self.stride, self.norm_and_relu = tuple(kernel), tuple(stride), norm_and_relu
        self.conv3d = nn.Conv3d(cin, cout, self.kernel, self.stride, bias=not norm_and_relu)
        if norm_and_relu:
            self.bn = nn.BatchNorm3d(cout, eps=0.001, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(_pad_same(x, self.kernel, self.stride))
        return F.relu(self.bn(x)) if self.norm_and_relu else x


class MaxPool3dSame(nn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # zero padding, as the port I3D's weights come from does (inputs after ReLU are >= 0 anyway)
        return F.max_pool3d(_pad_same(x, self.kernel, self.stride), self.kernel, self.stride)


class InceptionBlock(nn.Module):
    """Four branches: 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | 3x3 max-pool -> 1x1, concatenated."""

    def __init__(self, cin: int, widths: tuple[int, int, int, int, int, int]):
        super().__init__()
        self.b0 = Unit3D(cin, widths[0])
        self.b1a = Unit3D(cin, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], kernel=(3, 3, 3))
        self.b2a = Unit3D(cin, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], kernel=(3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(cin, widths[5])
        self.out_channels = widths[0] + widths[2] + widths[4] + widths[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


# (name, inception widths) in order; the max-pools between them are placed by _I3D_POOLS.
_I3D_BLOCKS = (
    ("Mixed_3b", (64, 96, 128, 16, 32, 32)), ("Mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)), ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)), ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)), ("Mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", (384, 192, 384, 48, 128, 128)),
)
_I3D_POOLS = {"Mixed_4b": ("MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
              "Mixed_5b": ("MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2))}


class InceptionI3d(nn.Module):
    """Inception-I3D for Kinetics-400: ``(B, 3, T, 224, 224)`` in [-1, 1] -> logits ``(B, 400)`` (time-averaged)."""

    def __init__(self, num_classes: int = FEATURE_DIM):
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, kernel=(7, 7, 7), stride=(2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, kernel=(3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.order = ["Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3"]
        channels = 192
        for name, widths in _I3D_BLOCKS:
            if name in _I3D_POOLS:
                pool_name, kernel, stride = _I3D_POOLS[name]
                self.add_module(pool_name, MaxPool3dSame(kernel, stride))
                self.order.append(pool_name)
            block = InceptionBlock(channels, widths)
            self.add_module(name, block)
            self.order.append(name)
            channels = block.out_channels
        self.logits = Unit3D(channels, num_classes, norm_and_relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.order:
            x = getattr(self, name)(x)
        # average pool over (2, 7, 7) with stride 1, as the Kinetics model; dropout is identity in eval
        x = F.avg_pool3d(x, kernel_size=(min(2, x.shape[2]), min(7, x.shape[3]), min(7, x.shape[4])), stride=1)
        logits = self.logits(x)  # (B, 400, T', H', W')
        return logits.mean(dim=(2, 3, 4))


def load_i3d(path: str | Path | None = None) -> InceptionI3d:
    """I3D with the user's ``i3d_pretrained_400.pt`` (raises WeightsUnavailable naming the file if absent)."""
    weights = find_weights(path, I3D_FILE, "FVD (Kinetics-400 I3D weights, the state dict VideoGPT/TATS use)",
                           "--i3d-weights")
    model = InceptionI3d()
    check_and_load(model, load_state_dict_file(weights), str(weights))
    return model.eval().requires_grad_(False)


def i3d_input(video: torch.Tensor, size: int = 224) -> torch.Tensor:
    """``(B, T, C, H, W)`` in [0, 1] -> ``(B, 3, T, size, size)`` in [-1, 1] for I3D (bilinear resize)."""
    b, t, c, h, w = video.shape
    frames = video.reshape(b * t, c, h, w).float()
    if (h, w) != (size, size):
        frames = F.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False)
    if c == 1:
        frames = frames.expand(-1, 3, -1, -1)
    frames = frames.reshape(b, t, 3, size, size).permute(0, 2, 1, 3, 4)  # (B, 3, T, S, S)
    return frames * 2 - 1


@torch.no_grad()
def i3d_features(model: InceptionI3d, video: torch.Tensor, size: int = 224, batch_size: int = 8) -> np.ndarray:
    """I3D embeddings of ``(B, T, C, H, W)`` videos: float64 ``(B, 400)``."""
    device = next(model.parameters()).device
    out = [model(i3d_input(video[i:i + batch_size].to(device), size)).double().cpu()
           for i in range(0, len(video), batch_size)]
    return torch.cat(out).numpy()


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need at least 2 feature vectors (N, D) to fit a Gaussian, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():  # singular product: regularise as the FID reference code does
        offset = np.eye(len(sigma1)) * 1e-6
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


@dataclass(frozen=True)
class FVDSettings:
    """The pinned FVD protocol, written into every result."""
    num_videos: int
    num_frames: int
    resize: int = 224
    include_context: bool = True  # the whole clip, context + prediction (Walker et al.)
    seed: int = 0
    embedding: str = "I3D Kinetics-400 logits, time-averaged (i3d_pretrained_400.pt)"


def reference_stats_file(folder: Path, key: dict) -> Path:
    """Where the reference set's Gaussian for ``key`` (data config + FVD settings) is cached."""
    digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    return Path(folder) / f"fvd_reference_{digest[:16]}.npz"


def load_stats(file: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(file, allow_pickle=False)
    return data["mu"], data["sigma"]


def save_stats(file: Path, mu: np.ndarray, sigma: np.ndarray, key: dict) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.stem + ".tmp.npz")
    np.savez(tmp, mu=mu, sigma=sigma, key=json.dumps(key, sort_keys=True, default=str))
    tmp.replace(file)
