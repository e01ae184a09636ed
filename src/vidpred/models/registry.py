"""The models ``vidpred`` knows by name: a table from name to ``ModelSpec`` (``models/base.py``), filled from the
``SPEC`` each model module defines. The modules do not import this table, so it imports them without a circle;
a model of your own joins it with ``register_model`` (docs: "Adding a model")."""
from __future__ import annotations

from vidpred.config import ConfigError
from vidpred.models import baselines, convlstm, hr_vqvae, svg, video_vqvae, vrnn, vrnn_gan
from vidpred.models.base import ModelSpec

MODELS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is registered twice")
    MODELS[spec.name] = spec
    return spec


for _spec in (*baselines.SPECS, convlstm.SPEC, hr_vqvae.SPEC, svg.SPEC, video_vqvae.SPEC, vrnn.SPEC, vrnn_gan.SPEC):
    register_model(_spec)


def model_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; an unknown name fails with the list of known ones."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def model_names() -> list[str]:
    return sorted(MODELS)
