"""S-HR-VQVAE (Adiban et al. 2023), split by job: ``tokenizer.py`` (HR-VQVAE: a per-frame VQ-VAE with a tree of
residual codebooks), ``prior.py`` (the spatiotemporal PixelCNN), ``predictor.py`` (prediction), ``config.py``
(the pipeline's and the prior's configs). Its disjoint training pipeline is ``training/stages.py``."""
from vidpred.models.base import ModelSpec
from vidpred.models.hr_vqvae.config import SHRVQVAEConfig, STPixelCNNConfig
from vidpred.models.hr_vqvae.predictor import PIPELINE, SHRVQVAE
from vidpred.models.hr_vqvae.prior import STPixelCNNPrior
from vidpred.models.hr_vqvae.tokenizer import HRVQVAE, HRVQVAEConfig


def _tiny_config():
    from vidpred.models.presets import preset  # the presets import this package's configs

    return preset("s_hr_vqvae_tiny")


SPEC = ModelSpec(
    "s_hr_vqvae", SHRVQVAEConfig, SHRVQVAE,
    "Adiban et al. 2023 S-HR-VQVAE: per-frame HR-VQVAE (tree of residual codebooks) + spatiotemporal PixelCNN "
    "per tree layer (trained in 3 stages)", test_config=_tiny_config)

__all__ = ["SPEC", "PIPELINE", "HRVQVAE", "HRVQVAEConfig", "SHRVQVAE", "SHRVQVAEConfig", "STPixelCNNConfig",
           "STPixelCNNPrior"]
