"""The data sets ``vidpred`` knows by name: a table from name to ``DatasetSpec`` (``data/base.py``), filled from
the ``SPEC`` each data set module defines. The modules do not import this table, so it imports them without a
circle; a data set of your own joins it with ``register_dataset``."""
from __future__ import annotations

from vidpred.data import bair, kth, moving_mnist, sample_clips, stochastic_moving_mnist, video_folder
from vidpred.data.base import DatasetSpec
from vidpred.registry import Registry

DATASETS: Registry[DatasetSpec] = Registry("data set")
register_dataset = DATASETS.register
dataset_spec = DATASETS.spec
dataset_names = DATASETS.names

for _module in (bair, kth, moving_mnist, sample_clips, stochastic_moving_mnist, video_folder):
    register_dataset(_module.SPEC)
