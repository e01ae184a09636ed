"""Plain dicts from names to builders. Data set modules add themselves on import of ``vidpred.data``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from vidpred.config import ConfigError

if TYPE_CHECKING:
    from vidpred.data.base import DatasetSpec

DATASETS: dict[str, "DatasetSpec"] = {}


def register_dataset(spec: "DatasetSpec") -> "DatasetSpec":
    if spec.name in DATASETS:
        raise ValueError(f"data set {spec.name!r} is registered twice")
    DATASETS[spec.name] = spec
    return spec


def dataset_spec(name: str) -> "DatasetSpec":
    """The spec of data set ``name``; an unknown name fails with the list of known ones."""
    import vidpred.data  # noqa: F401  (registers every data set)

    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; known data sets: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def dataset_names() -> list[str]:
    import vidpred.data  # noqa: F401

    return sorted(DATASETS)
