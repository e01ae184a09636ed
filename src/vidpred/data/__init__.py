"""Data sets: each in its module; ``registry`` knows them by name; ``data_config`` and ``build_dataset`` are how
the rest of vidpred makes one."""
from vidpred.data.base import ClipDataset, DataConfig, DataError
from vidpred.data.registry import dataset_spec


def data_config(name: str, **fields):
    """The config of data set ``name`` with ``fields`` set (checked like a YAML config). Reading a prepared store
    (``cache=``), the settings it was prepared with (size, channels, test fraction, ...) are the defaults: they need
    not be repeated, and a field given otherwise is named by the store's check."""
    from vidpred.config import from_dict

    spec = dataset_spec(name)
    if fields.get("cache"):
        fields = {**_stored_fields(fields["cache"], spec.config_cls), **fields}
    return from_dict(spec.config_cls, {"name": name, **fields}, "data")


def _stored_fields(cache: str, config_cls: type) -> dict:
    """The config fields a prepared store recorded ({} when it cannot be read: opening it says why)."""
    import dataclasses

    from vidpred.data.cache import read_index

    stored = (read_index(cache) or {}).get("config")
    names = {f.name for f in dataclasses.fields(config_cls)} - {"name", "cache", "root"}
    return {k: v for k, v in stored.items() if k in names} if isinstance(stored, dict) else {}


def build_dataset(cfg, split: str = "train"):
    """The ``split`` of the data set ``cfg`` describes; items are float32 (T, C, H, W) clips in [0, 1]."""
    return dataset_spec(cfg.name).build(cfg, split)


__all__ = ["ClipDataset", "DataConfig", "DataError", "build_dataset", "data_config"]
