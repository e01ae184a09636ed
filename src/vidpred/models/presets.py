"""Named model sizes: the papers' (constructible everywhere) and small ones that train on 2 CPU cores."""
from __future__ import annotations

from vidpred.models.convlstm import ConvLSTMConfig
from vidpred.models.video_vqvae import VideoVQVAEConfig


def convlstm_mmnist() -> ConvLSTMConfig:
    """ConvLSTM at the common Moving MNIST setting of the PredRNN lineage (S-HR-VQVAE Table 2's first row):
    4 layers of 128 hidden channels, 5x5 filters, 4x4 patches, 10 -> 10 frames. Table 2 lists 16.6M parameters;
    this setting has 11.7M (the table's count is copied from earlier papers whose exact layers we cannot
    recover; the layer count, widths, filters and patches here are the common re-implementation's)."""
    return ConvLSTMConfig(hidden=(128, 128, 128, 128), kernel_size=5, patch_size=4, num_context=10, num_predicted=10)


def convlstm_small() -> ConvLSTMConfig:
    """A CPU-sized ConvLSTM for Moving MNIST: 2 layers of 32 channels, 3x3 filters, 4x4 patches."""
    return ConvLSTMConfig(hidden=(32, 32), kernel_size=3, patch_size=4, num_context=10, num_predicted=10)


def walker_kinetics_256() -> VideoVQVAEConfig:
    """Walker et al. 2021 Appendix Table 3: 256x256x16x3 -> top 32x32x4 and bottom 64x64x8 latents; hidden 128,
    residual 32, 2 layers, 512 codes x 64 dimensions per level, beta 0.25."""
    return VideoVQVAEConfig(channels=3, image_size=256, num_frames=16, hidden=128, residual=32, layers=2,
                            num_codes=512, code_dim=64, beta=0.25)


def video_vqvae_mmnist() -> VideoVQVAEConfig:
    """Moving MNIST, 64x64x16x1 -> 8x8x4 and 16x16x8, sized for 2 CPU cores (hidden 64 instead of 128)."""
    return VideoVQVAEConfig(channels=1, image_size=64, num_frames=16, hidden=64, residual=32, layers=2)


def video_vqvae_kth64() -> VideoVQVAEConfig:
    """KTH at 64x64 (grey), 16 frames, Table 3's widths."""
    return VideoVQVAEConfig(channels=1, image_size=64, num_frames=16, hidden=128, residual=32, layers=2)


PRESETS = {"convlstm_mmnist": convlstm_mmnist, "convlstm_small": convlstm_small,
           "walker_kinetics_256": walker_kinetics_256, "video_vqvae_mmnist": video_vqvae_mmnist,
           "video_vqvae_kth64": video_vqvae_kth64}
