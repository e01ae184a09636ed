"""S-HR-VQVAE (Adiban et al. 2023), split by job: ``tokenizer.py`` (HR-VQVAE: a per-frame VQ-VAE with a tree of
residual codebooks), ``prior.py`` (the spatiotemporal PixelCNN), ``predictor.py`` (the composed config and
prediction). Its disjoint training pipeline is ``training/stages.py``."""
from vidpred.models.hr_vqvae.predictor import PIPELINE, SHRVQVAE, SHRVQVAEConfig
from vidpred.models.hr_vqvae.prior import STPixelCNNConfig, STPixelCNNPrior
from vidpred.models.hr_vqvae.tokenizer import HRVQVAE, HRVQVAEConfig
from vidpred.registry import ModelSpec, preset, register_model

register_model(ModelSpec(
    "s_hr_vqvae", SHRVQVAEConfig, SHRVQVAE,
    "Adiban et al. 2023 S-HR-VQVAE: per-frame HR-VQVAE (tree of residual codebooks) + spatiotemporal PixelCNN "
    "per tree layer (trained in 3 stages)", test_config=lambda: preset("s_hr_vqvae_tiny")))

__all__ = ["PIPELINE", "HRVQVAE", "HRVQVAEConfig", "SHRVQVAE", "SHRVQVAEConfig", "STPixelCNNConfig",
           "STPixelCNNPrior"]
