"""The data sets ``vidpred`` knows by name: a table from name to ``DatasetSpec`` (``data/base.py``), filled from
the ``SPEC`` each data set module defines. The modules do not import this table, so it imports them without a
circle; a data set of your own joins it with ``register_dataset``."""
from __future__ import annotations

from vidpred.config import ConfigError
from vidpred.data import bair, kth, moving_mnist, sample_clips, stochastic_moving_mnist, video_folder
from vidpred.data.base import DatasetSpec

DATASETS: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in DATASETS:
        raise ValueError(f"data set {spec.name!r} is registered twice")
    DATASETS[spec.name] = spec
    return spec


for _module in (bair, kth, moving_mnist, sample_clips, stochastic_moving_mnist, video_folder):
    register_dataset(_module.SPEC)


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of data set ``name``; an unknown name fails with the list of known ones."""
    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; known data sets: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def dataset_names() -> list[str]:
    return sorted(DATASETS)
