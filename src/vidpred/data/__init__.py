"""Data sets. Importing this package registers every one of them (see ``vidpred.registry``)."""
from vidpred.data import bair, kth, moving_mnist, sample_clips, stochastic_moving_mnist, video_folder  # noqa: F401
from vidpred.data.base import ClipDataset, DataConfig, DataError
from vidpred.registry import dataset_spec


def data_config(name: str, **fields):
    """The config of data set ``name`` with ``fields`` set (checked like a YAML config)."""
    from vidpred.config import from_dict

    spec = dataset_spec(name)
    return from_dict(spec.config_cls, {"name": name, **fields}, "data")


def build_dataset(cfg, split: str = "train"):
    """The ``split`` of the data set ``cfg`` describes; items are float32 (T, C, H, W) clips in [0, 1]."""
    return dataset_spec(cfg.name).build(cfg, split)


__all__ = ["ClipDataset", "DataConfig", "DataError", "build_dataset", "data_config"]
