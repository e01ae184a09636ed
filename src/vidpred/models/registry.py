"""The models ``vidpred`` knows by name: a table from name to ``ModelSpec`` (``models/base.py``), filled from the
``SPEC`` each model module defines. The modules do not import this table, so it imports them without a circle;
a model of your own joins it with ``register_model`` (docs: "Adding a model")."""
from __future__ import annotations

from vidpred.models import baselines, convlstm, hr_vqvae, svg, video_vqvae, vrnn, vrnn_gan
from vidpred.models.base import ModelSpec
from vidpred.registry import Registry

MODELS: Registry[ModelSpec] = Registry("model")
register_model = MODELS.register
model_spec = MODELS.spec
model_names = MODELS.names

for _spec in (*baselines.SPECS, convlstm.SPEC, hr_vqvae.SPEC, svg.SPEC, video_vqvae.SPEC, vrnn.SPEC, vrnn_gan.SPEC):
    register_model(_spec)
