"""LPIPS (Zhang et al. 2018), AlexNet-lin, version 0.1: the perceptual distance the video papers report.

The AlexNet feature network is implemented here with torchvision's module layout (``features.0`` ...
``features.10``), so the torchvision ImageNet state dict ``alexnet-owt-7be5be79.pth`` loads as is; the user
supplies it (nothing is downloaded). The five linear heads (``lin0.model.1.weight`` ...) are the v0.1 file
that ships inside torchmetrics (``functional/image/lpips_models/alex.pth``).

distance(x, y) = sum over layers l of mean over positions of  w_l . (x_l / |x_l| - y_l / |y_l|)^2, where x_l are
the ReLU outputs after AlexNet's five convolutions, normalised along channels, for inputs scaled to [-1, 1]
and then by LPIPS' fixed shift and scale. Grey frames are repeated to 3 channels.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from vidpred.eval.weights import WeightsUnavailable, check_and_load, find_weights, load_state_dict_file

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
CHANNELS = (64, 192, 384, 256, 256)
TAPS = (1, 4, 7, 9, 11)  # indices in ``features`` of the ReLUs after conv1..conv5


class AlexNetFeatures(nn.Module):
    """torchvision's ``alexnet().features``, returning the five ReLU outputs LPIPS compares."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=False),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=False),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=False),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=False),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=False),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps: list[torch.Tensor] = []
        layer: nn.Module
        for index, layer in enumerate(self.features[: TAPS[-1] + 1]):
            x = layer(x)
            if index in TAPS:
                taps.append(x)
        return taps


class LinearHead(nn.Module):
    """LPIPS' per-layer head: dropout then a 1x1 convolution to one channel (no bias), as in v0.1."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(channels, 1, kernel_size=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LPIPS(nn.Module):
    """LPIPS distance between images ``(N, C, H, W)`` in [0, 1], C = 1 or 3 -> ``(N,)``."""

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.net = AlexNetFeatures()
        self.lins = nn.ModuleList(LinearHead(c) for c in CHANNELS)
        self.eval().requires_grad_(False)

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x * 2 - 1 - self.shift) / self.scale
        return [f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10) for f in self.net(x)]

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = 0.0
        for head, fx, fy in zip(self.lins, self._features(x), self._features(y)):
            total = total + head((fx - fy).pow(2)).mean(dim=(1, 2, 3))
        return total

    def load_heads(self, state: dict[str, torch.Tensor], source: str) -> None:
        renamed = {f"{k.split('.')[0][3:]}.{k.split('.', 1)[1]}": v for k, v in state.items() if k.startswith("lin")}
        check_and_load(self.lins, renamed, source)

    def load_backbone(self, state: dict[str, torch.Tensor], source: str) -> None:
        check_and_load(self.net, {k: v for k, v in state.items() if k.startswith("features.")}, source)


def torchmetrics_heads_file() -> Path:
    spec = importlib.util.find_spec("torchmetrics")
    path = Path(next(iter(spec.submodule_search_locations))) / "functional" / "image" / "lpips_models" / "alex.pth"
    if not path.is_file():
        raise WeightsUnavailable(f"LPIPS heads file {path} is missing from the torchmetrics install",
                                 f"{path.name} missing from torchmetrics")
    return path


def load_lpips(backbone: str | Path | None = None, heads: str | Path | None = None) -> LPIPS:
    """LPIPS with real weights: the AlexNet backbone from ``backbone`` (or ``$VIDPRED_WEIGHTS_DIR``), heads from
    torchmetrics. Raises :class:`WeightsUnavailable` naming the file to supply when the backbone is missing."""
    backbone_path = find_weights(backbone, ALEXNET_FILE, "LPIPS (AlexNet backbone, torchvision ImageNet weights)",
                                 "--lpips-weights")
    heads_path = Path(heads) if heads else torchmetrics_heads_file()
    model = LPIPS()
    model.load_backbone(load_state_dict_file(backbone_path), str(backbone_path))
    model.load_heads(load_state_dict_file(heads_path), str(heads_path))
    return model
