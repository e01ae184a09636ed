"""Code extraction and the reconstruction report work on any tokenizer through the protocol (models/tokenizer.py):
here a toy tokenizer with three levels of different time strides and codebook sizes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidpred.data import build_dataset, data_config
from vidpred.eval.reconstruction import reconstruction_report
from vidpred.models.base import LossOutput
from vidpred.models.tokenizer import Tokenizer
from vidpred.training.codes import CodeDataset, encode_dataset


class ThreeLevels(Tokenizer):
    """Patch means quantised three times, residually: "coarse" (8x8 patches, 2 frames a step, 4 codes), "mid"
    (4x4, every frame, 8 codes), "fine" (4x4, every frame, 16 codes of the remaining residual)."""

    levels = ("coarse", "mid", "fine")
    time_strides = {"coarse": 2, "mid": 1, "fine": 1}
    codebook_sizes = {"coarse": 4, "mid": 8, "fine": 16}
    num_frames = 8
    frame_shape = (1, 32, 32)

    def latent_shape(self, level, num_frames):
        patch = 8 if level == "coarse" else 4
        return num_frames // self.time_strides[level], 32 // patch, 32 // patch

    def encode(self, frames):
        x = frames[:, :, 0]  # (B, T, H, W)
        coarse = F.avg_pool2d(x.unflatten(1, (-1, 2)).mean(2), 8)  # (B, T/2, 4, 4)
        c = (coarse * 3).round().long()
        residual = F.avg_pool2d(x, 4) - self._up(c.float() / 3, x.shape[1])
        m = ((residual + 1) * 3.5).round().clamp(0, 7).long()
        rest = residual - (m.float() / 3.5 - 1)
        f = ((rest + 0.15) * 50).round().clamp(0, 15).long()
        return {"coarse": c, "mid": m, "fine": f}

    def _up(self, coarse, frames):  # (B, T/2, 4, 4) -> (B, T, 8, 8)
        return coarse.repeat_interleave(2, 1)[:, :frames].repeat_interleave(2, 2).repeat_interleave(2, 3)

    def decode(self, codes):
        frames = codes["coarse"].shape[1] * 2
        x = self._up(codes["coarse"].float() / 3, frames)
        if "mid" in codes:
            x = x + codes["mid"].float() / 3.5 - 1
        if "fine" in codes:
            x = x + codes["fine"].float() / 50 - 0.15
        return F.interpolate(x, scale_factor=4, mode="nearest").clamp(0, 1).unsqueeze(2)

    def loss(self, clips):
        return LossOutput(torch.zeros(()))


@pytest.fixture
def dataset():
    return build_dataset(data_config("moving_mnist", image_size=32, num_frames=8, num_test=6), "test")


def test_codes_of_a_three_level_tokenizer(tmp_path, dataset):
    tokenizer = ThreeLevels()
    info = encode_dataset(tokenizer, dataset, tmp_path, "test", context_frames=4)
    assert info["shapes"] == {"coarse": [4, 4, 4], "mid": [8, 8, 8], "fine": [8, 8, 8]}
    for level, shape in info["shapes"].items():
        codes = np.load(tmp_path / f"test_{level}.npy")
        assert codes.shape == (6, *shape) and codes.dtype == np.uint16
        assert codes.max() < tokenizer.codebook_sizes[level]
    assert np.load(tmp_path / "test_context_coarse.npy").shape == (6, 2, 4, 4)
    assert np.load(tmp_path / "test_context_mid.npy").shape == (6, 4, 8, 8)
    sequences = CodeDataset(tmp_path, "test", tokenizer, context_frames=4)
    item = sequences[2]
    clip = dataset[2][:8].unsqueeze(0)
    whole, context = tokenizer.encode(clip), tokenizer.encode(clip[:, :4])
    for level in tokenizer.levels:  # the context's own codes, then the clip's codes after the context
        steps = context[level].shape[1]
        assert torch.equal(item[level][:steps], context[level][0])
        assert torch.equal(item[level][steps:], whole[level][0, steps:])
    with pytest.raises(ValueError, match="must be a positive multiple of 2"):
        encode_dataset(tokenizer, dataset, tmp_path, "test", context_frames=3)
    with pytest.raises(ValueError, match="for 2 context frames"):
        CodeDataset(tmp_path, "test", tokenizer, context_frames=2)


def test_reconstruction_report_of_a_three_level_tokenizer(tmp_path, dataset):
    tokenizer = ThreeLevels()
    result = reconstruction_report(tokenizer, dataset, tmp_path, count=6)
    assert set(result["codes"]) == {"coarse", "mid", "fine"}
    assert result["codes"]["fine"]["of"] == 16 and 0 < result["codes"]["mid"]["used"] <= 8
    # three levels reconstruct better than the coarsest alone
    assert result["metrics"]["psnr"]["mean"] > result["metrics"]["psnr_coarse_only"]["mean"]
    bits = 4 * 16 * 2 + 8 * 64 * 3 + 8 * 64 * 4  # positions x log2 K, summed over the levels
    assert result["bit_budget"]["latent_bits"] == pytest.approx(bits)
    assert result["bit_budget"]["pixel_bits"] == 8 * 32 * 32 * 8
    assert (tmp_path / "code_usage.png").is_file() and (tmp_path / "reconstructions.gif").is_file()
    assert json.loads((tmp_path / "reconstruction.json").read_text())["clips"] == 6
