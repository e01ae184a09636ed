"""Plain dicts from names to builders. Data set modules add themselves on import of ``vidpred.data``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from vidpred.config import ConfigError

if TYPE_CHECKING:
    from vidpred.data.base import DatasetSpec

DATASETS: dict[str, "DatasetSpec"] = {}
MODELS: dict[str, "ModelSpec"] = {}


@dataclass
class Stage:
    """One step of a model's training pipeline (e.g. tokenizer -> extract codes -> priors)."""
    name: str
    run: Callable  # (experiment config, run folder, resume: bool) -> None


@dataclass
class ModelSpec:
    """A registered model: its config dataclass, the class built from it, and one line about it."""
    name: str
    config_cls: type
    build: Callable
    description: str
    stages: Callable | None = None  # cfg -> list of training stages; None: one stage that trains the loss


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is registered twice")
    MODELS[spec.name] = spec
    return spec


def model_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; an unknown name fails with the list of known ones."""
    import vidpred.models  # noqa: F401  (registers every model)

    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def model_names() -> list[str]:
    import vidpred.models  # noqa: F401

    return sorted(MODELS)


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
