"""Named model sizes: the papers' (constructible everywhere) and small ones that train on 2 CPU cores."""
from __future__ import annotations

from vidpred.models.convlstm import ConvLSTMConfig


def convlstm_mmnist() -> ConvLSTMConfig:
    """ConvLSTM at the common Moving MNIST setting of the PredRNN lineage (S-HR-VQVAE Table 2's first row):
    4 layers of 128 hidden channels, 5x5 filters, 4x4 patches, 10 -> 10 frames. Table 2 lists 16.6M parameters;
    this setting has 11.7M (the table's count is copied from earlier papers whose exact layers we cannot
    recover; the layer count, widths, filters and patches here are the common re-implementation's)."""
    return ConvLSTMConfig(hidden=(128, 128, 128, 128), kernel_size=5, patch_size=4, num_context=10, num_predicted=10)


def convlstm_small() -> ConvLSTMConfig:
    """A CPU-sized ConvLSTM for Moving MNIST: 2 layers of 32 channels, 3x3 filters, 4x4 patches."""
    return ConvLSTMConfig(hidden=(32, 32), kernel_size=3, patch_size=4, num_context=10, num_predicted=10)


PRESETS = {"convlstm_mmnist": convlstm_mmnist, "convlstm_small": convlstm_small}
