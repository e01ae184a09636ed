"""Models. Importing this package registers every one of them (see ``vidpred.registry``)."""
from vidpred.models import baselines, convlstm, hr_vqvae, svg, video_vqvae, vrnn, vrnn_gan  # noqa: F401
from vidpred.models.base import LossOutput, ModelConfig, Pipeline, Predictor
from vidpred.models.io import build_model, load_model, save_model

__all__ = ["LossOutput", "ModelConfig", "Pipeline", "Predictor", "build_model", "load_model", "save_model"]
