"""Models: each in its module, depending on torch and ``nn/`` alone; ``registry`` knows them by name, ``presets``
names their sizes, ``io`` saves and loads them."""
from vidpred.models.base import LossOutput, ModelConfig, Pipeline, Predictor
from vidpred.models.io import build_model, load_model, save_model

__all__ = ["LossOutput", "ModelConfig", "Pipeline", "Predictor", "build_model", "load_model", "save_model"]
