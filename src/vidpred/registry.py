"""Plain dicts from names to builders. Model and data set modules add themselves on import of ``vidpred.models``
and ``vidpred.data``; named model sizes (presets) live in ``vidpred.models.presets``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Literal

from vidpred.config import ConfigError

if TYPE_CHECKING:
    from vidpred.data.base import DatasetSpec

DATASETS: dict[str, "DatasetSpec"] = {}
MODELS: dict[str, "ModelSpec"] = {}


@dataclass
class ModelSpec:
    """A registered model: its config dataclass, the class built from it, one line about it, and which kind of
    training it takes: "loss" (one optimizer on ``loss(batch)``; a model whose ``pipeline_for(config)`` is set trains in stages, each
    of them so) or "adversarial" (two optimizers, alternating steps; ``training/adversarial.py``). ``test_config``
    gives a small config the registry-wide contract tests build (default: the config class's defaults)."""
    name: str
    config_cls: type
    build: Callable
    description: str
    training: Literal["loss", "adversarial"] = "loss"
    test_config: Callable | None = None


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


def preset_names() -> list[str]:
    from vidpred.models.presets import PRESETS

    return sorted(PRESETS)


def preset(name: str):
    """The model config of preset ``name`` (a fresh object); an unknown name fails with the list of known ones."""
    from vidpred.models.presets import PRESETS

    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()


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
