"""Walker et al. 2021's Video VQ-VAE, split by job: ``tokenizer.py`` (the hierarchical 3D VQ-VAE), ``priors.py``
(the top and bottom PixelCNN priors), ``predictor.py`` (the composed config and sampling). Its training pipeline
is ``training/stages.py``."""
from vidpred.models.video_vqvae.predictor import PIPELINE, VideoVQConfig, VideoVQPredictor
from vidpred.models.video_vqvae.priors import BottomPrior, BottomPriorConfig, TopPrior, TopPriorConfig
from vidpred.models.video_vqvae.tokenizer import VideoVQVAE, VideoVQVAEConfig
from vidpred.registry import ModelSpec, preset, register_model

register_model(ModelSpec(
    "video_vqvae", VideoVQConfig, VideoVQPredictor,
    "Walker et al. 2021 Video VQ-VAE: hierarchical 3D VQ-VAE tokenizer + spatiotemporal PixelCNN top prior + "
    "2D PixelCNN bottom prior (trained in 4 stages)", test_config=lambda: preset("video_vqvae_tiny")))

__all__ = ["PIPELINE", "BottomPrior", "BottomPriorConfig", "TopPrior", "TopPriorConfig", "VideoVQConfig",
           "VideoVQPredictor", "VideoVQVAE", "VideoVQVAEConfig"]
