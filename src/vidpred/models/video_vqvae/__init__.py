"""Walker et al. 2021's Video VQ-VAE, split by job: ``tokenizer.py`` (the hierarchical 3D VQ-VAE), ``priors.py``
(the top and bottom PixelCNN priors), ``predictor.py`` (sampling), ``config.py`` (the pipeline's and the priors'
configs). Its training pipeline is ``training/stages.py``."""
from vidpred.models.base import ModelSpec
from vidpred.models.video_vqvae.config import BottomPriorConfig, TopPriorConfig, VideoVQConfig
from vidpred.models.video_vqvae.predictor import PIPELINE, VideoVQPredictor
from vidpred.models.video_vqvae.priors import BottomPrior, TopPrior
from vidpred.models.video_vqvae.tokenizer import VideoVQVAE, VideoVQVAEConfig


def _tiny_config():
    from vidpred.models.presets import preset  # the presets import this package's configs

    return preset("video_vqvae_tiny")


SPEC = ModelSpec(
    "video_vqvae", VideoVQConfig, VideoVQPredictor,
    "Walker et al. 2021 Video VQ-VAE: hierarchical 3D VQ-VAE tokenizer + spatiotemporal PixelCNN top prior + "
    "2D PixelCNN bottom prior (trained in 4 stages)", test_config=_tiny_config)

__all__ = ["SPEC", "PIPELINE", "BottomPrior", "BottomPriorConfig", "TopPrior", "TopPriorConfig", "VideoVQConfig",
           "VideoVQPredictor", "VideoVQVAE", "VideoVQVAEConfig"]
