"""Named model sizes: the papers' (constructible everywhere) and small ones that train on 2 CPU cores.

``PRESETS`` maps a preset name to a function returning a whole model config; a YAML config names one with
``model: {preset: NAME, ...}`` and overrides fields beside it. Part configs (a prior's) are plain functions that
the presets compose. How a preset trains (batch sizes, steps) is the experiment's (``configs/``), not the model's.
"""
from __future__ import annotations

from vidpred.config import ConfigError
from vidpred.models.convlstm import ConvLSTMConfig
from vidpred.models.hr_vqvae.config import SHRVQVAEConfig, STPixelCNNConfig
from vidpred.models.hr_vqvae.tokenizer import HRVQVAEConfig
from vidpred.models.svg import SVGConfig
from vidpred.models.video_vqvae.config import BottomPriorConfig, TopPriorConfig, VideoVQConfig
from vidpred.models.video_vqvae.tokenizer import VideoVQVAEConfig
from vidpred.models.vrnn import VRNNConfig
from vidpred.models.vrnn_gan import VRNNGANConfig


def convlstm_mmnist() -> ConvLSTMConfig:
    """ConvLSTM at the common Moving MNIST setting of the PredRNN lineage (S-HR-VQVAE Table 2's first row):
    4 layers of 128 hidden channels, 5x5 filters, 4x4 patches, 10 -> 10 frames. Table 2 lists 16.6M parameters;
    this setting has 11.7M (the table's count is copied from earlier papers whose exact layers we cannot
    recover; the layer count, widths, filters and patches here are the common re-implementation's)."""
    return ConvLSTMConfig(hidden=(128, 128, 128, 128), kernel_size=5, patch_size=4, num_context=10, num_predicted=10)


def convlstm_small() -> ConvLSTMConfig:
    """A CPU-sized ConvLSTM for Moving MNIST: 2 layers of 32 channels, 3x3 filters, 4x4 patches."""
    return ConvLSTMConfig(hidden=(32, 32), kernel_size=3, patch_size=4, num_context=10, num_predicted=10)


def walker_top_prior_kinetics() -> TopPriorConfig:
    """Walker et al. Table 4 (top prior) and Table 5 (its conditioning stack): 40 gated layers of 512 hidden /
    1024 residual units, filter 3, attention every 5 layers (8 attention layers x 8 heads), dropout 0.5; the
    paper trains it at batch 512."""
    return TopPriorConfig(hidden=512, layers=40, kernel=3, attention_every=5, heads=8, dropout=0.5,
                          cond_reduced=256, cond_hidden=512, cond_residual=128, cond_blocks=4)


def walker_bottom_prior_kinetics() -> BottomPriorConfig:
    """Walker et al. Table 4 (bottom prior) and Table 6 (its 3D conditioning stack): 20 gated layers of 512 /
    1024 units, filter 5, 4 attention layers x 8 heads, no dropout; conditioning 1024 hidden, 20 residual
    blocks; the paper trains it at batch 32."""
    return BottomPriorConfig(hidden=512, layers=20, kernel=5, attention_every=5, heads=8, dropout=0.0,
                             past_window=4, cond_hidden=1024, cond_blocks=20)


def walker_kinetics_256() -> VideoVQConfig:
    """Walker et al. 2021 at the paper's size. Appendix Table 3: 256x256x16x3 -> top 32x32x4 and bottom 64x64x8
    latents; hidden 128, residual 32, 2 layers, 512 codes x 64 dimensions per level, beta 0.25. 4 context frames
    (§3.2), priors of Tables 4-6."""
    tokenizer = VideoVQVAEConfig(channels=3, image_size=256, num_frames=16, hidden=128, residual=32, layers=2,
                                 num_codes=512, code_dim=64, beta=0.25)
    return VideoVQConfig(context_frames=4, tokenizer=tokenizer, top_prior=walker_top_prior_kinetics(),
                         bottom_prior=walker_bottom_prior_kinetics())


def top_prior_mmnist() -> TopPriorConfig:
    """A CPU-sized top prior for Moving MNIST: 10 gated layers of 64 units, 2 attention layers x 4 heads."""
    return TopPriorConfig(hidden=64, layers=10, kernel=3, attention_every=5, heads=4, dropout=0.1, embed=32,
                          cond_reduced=64, cond_hidden=64, cond_residual=32, cond_blocks=2)


def bottom_prior_mmnist() -> BottomPriorConfig:
    """A CPU-sized bottom prior for Moving MNIST: 10 gated layers of 64 units, filter 5, 2 attention layers."""
    return BottomPriorConfig(hidden=64, layers=10, kernel=5, attention_every=5, heads=4, dropout=0.0,
                             past_window=4, embed=32, cond_hidden=64, cond_residual=16, cond_blocks=4)


def video_vqvae_mmnist() -> VideoVQConfig:
    """Moving MNIST, 64x64x16x1 -> 8x8x4 and 16x16x8, sized for 2 CPU cores (tokenizer hidden 64 instead of
    128, small priors). 8 context frames (two top steps): mmnist-10-10 gives 10, of which the last 8 are used."""
    tokenizer = VideoVQVAEConfig(channels=1, image_size=64, num_frames=16, hidden=64, residual=32, layers=2)
    return VideoVQConfig(context_frames=8, tokenizer=tokenizer, top_prior=top_prior_mmnist(),
                         bottom_prior=bottom_prior_mmnist())


def video_vqvae_kth64() -> VideoVQConfig:
    """KTH at 64x64 (grey), 16 frames, Table 3's widths; 8 context frames; the Moving MNIST priors' sizes."""
    tokenizer = VideoVQVAEConfig(channels=1, image_size=64, num_frames=16, hidden=128, residual=32, layers=2)
    return VideoVQConfig(context_frames=8, tokenizer=tokenizer, top_prior=top_prior_mmnist(),
                         bottom_prior=bottom_prior_mmnist())


def video_vqvae_tiny() -> VideoVQConfig:
    """The smallest working pipeline (32x32, 12 frames, 4 of context; a few thousand parameters per part): for
    tests and smoke runs, never for results."""
    tokenizer = VideoVQVAEConfig(channels=1, image_size=32, num_frames=12, hidden=8, residual=4, layers=1,
                                 num_codes=16, code_dim=8)
    top = TopPriorConfig(hidden=16, layers=4, kernel=3, attention_every=2, heads=2, dropout=0.0, embed=8,
                         cond_reduced=8, cond_hidden=8, cond_residual=4, cond_blocks=1)
    bottom = BottomPriorConfig(hidden=16, layers=3, kernel=3, attention_every=2, heads=2, embed=8, cond_hidden=8,
                               cond_residual=4, cond_blocks=1, past_window=2)
    return VideoVQConfig(context_frames=4, tokenizer=tokenizer, top_prior=top, bottom_prior=bottom)


def _s_hr_vqvae(kth: bool, layers: int, codebook: int) -> SHRVQVAEConfig:
    """S-HR-VQVAE at a Table 1 configuration: Moving MNIST 64x64x1 -> 16x16x4 (10 -> 10 frames) or KTH
    128x128x3 -> 32x32x8 (10 -> 20 frames), ``layers`` tree layers of ``codebook`` codewords per codebook. The paper
    gives no ST-PixelCNN widths; one gated PixelCNN of 4 layers x 32 units per tree layer, with §4.2's attention
    over 3D voxels after the 2nd and 4th (4 heads), puts the 3-layer Moving MNIST model near Table 2's 1.14M
    parameters (the tests print the count)."""
    tokenizer = HRVQVAEConfig(channels=3 if kth else 1, image_size=128 if kth else 64, num_frames=30 if kth else 20,
                              latent_dim=8 if kth else 4, num_layers=layers, codebook_size=codebook)
    return SHRVQVAEConfig(context_frames=10, tokenizer=tokenizer, prior=STPixelCNNConfig(hidden=32, layers=4))


def hr_vqvae_mmnist_1() -> SHRVQVAEConfig:
    """Table 1, Moving MNIST, 1 layer of 64 codewords (= VQ-VAE + ST-PixelCNN, Table 3's first row)."""
    return _s_hr_vqvae(False, 1, 64)


def hr_vqvae_mmnist_3() -> SHRVQVAEConfig:
    """Table 1, Moving MNIST, 3 layers of 4 (4, 16, 64 codewords): Table 2's S-HR-VQVAE."""
    return _s_hr_vqvae(False, 3, 4)


def hr_vqvae_mmnist_6() -> SHRVQVAEConfig:
    """Table 1, Moving MNIST, 6 layers of 2 (2 .. 64 codewords)."""
    return _s_hr_vqvae(False, 6, 2)


def hr_vqvae_kth_1() -> SHRVQVAEConfig:
    """Table 1, KTH 128x128, 1 layer of 512 codewords."""
    return _s_hr_vqvae(True, 1, 512)


def hr_vqvae_kth_3() -> SHRVQVAEConfig:
    """Table 1, KTH 128x128, 3 layers of 8 (8, 64, 512 codewords)."""
    return _s_hr_vqvae(True, 3, 8)


def hr_vqvae_kth_9() -> SHRVQVAEConfig:
    """Table 1, KTH 128x128, 9 layers of 2 (2 .. 512 codewords)."""
    return _s_hr_vqvae(True, 9, 2)


def s_hr_vqvae_tiny() -> SHRVQVAEConfig:
    """The smallest working S-HR-VQVAE (32x32, 8 frames, 4 of context, 2 layers of 4): tests and smoke runs."""
    tokenizer = HRVQVAEConfig(image_size=32, num_frames=8, hidden=8, residual=4, res_layers=1, num_layers=2,
                              codebook_size=4)
    prior = STPixelCNNConfig(hidden=8, layers=2, attention_every=2, heads=2, condition_on_coarser=True, embed=4)
    return SHRVQVAEConfig(context_frames=4, decoding="sample", tokenizer=tokenizer, prior=prior)


def _svg(prior: str, encoder: str, channels: int, z_dim: int, beta: float, context: int) -> SVGConfig:
    """SVG at §4.1's sizes: LSTM_theta 2 x 256, LSTM_phi / LSTM_psi 1 x 256, |h| = |g| = 128, 64x64 frames,
    trained to predict 10 frames after ``context``."""
    return SVGConfig(prior=prior, encoder=encoder, channels=channels, z_dim=z_dim, beta=beta, num_context=context,
                     num_predicted=10)


def svg_lp_smmnist() -> SVGConfig:
    """SVG-LP on SM-MNIST (§4.1, §4.2): DCGAN encoder / decoder, |z| = 10, beta = 1e-4, 5 -> 10 frames."""
    return _svg("learned", "dcgan", 1, 10, 1e-4, 5)


def svg_fp_smmnist() -> SVGConfig:
    """SVG-FP on SM-MNIST: as ``svg_lp_smmnist`` with the fixed N(0, I) prior."""
    return _svg("fixed", "dcgan", 1, 10, 1e-4, 5)


def svg_det_smmnist() -> SVGConfig:
    """The deterministic baseline on SM-MNIST (§4.1): the frame predictor, encoder and decoder without z."""
    return _svg("none", "dcgan", 1, 10, 1e-4, 5)


def svg_lp_kth() -> SVGConfig:
    """SVG-LP on KTH (§4.1, §4.3): VGG encoder / decoder, grey 64x64, |z| = 32, beta = 1e-6, 10 -> 10 frames."""
    return _svg("learned", "vgg", 1, 32, 1e-6, 10)


def svg_lp_bair() -> SVGConfig:
    """SVG-LP on BAIR (§4.1, §4.4): VGG encoder / decoder, colour 64x64, |z| = 64, beta = 1e-4, 2 -> 10 frames."""
    return _svg("learned", "vgg", 3, 64, 1e-4, 2)


def _vrnn(levels: tuple[int, ...] = (1, 8, 32), convlstm_layers: int = 6, channels: int = 1, image_size: int = 64,
          context: int = 5, epoch: int = 60_000, **fields) -> VRNNConfig:
    """The improved conditional VRNN at the code release's width (64: encoder stages of 64 ... 512 channels), |z| = 10
    at 1x1, Bernoulli likelihood for grey frames and Laplace for colour ones, beta 1 warmed up over 20 epochs of
    ``epoch`` training clips (the release's warm-up), trained to predict 10 frames after ``context``."""
    return VRNNConfig(levels=levels, convlstm_layers=convlstm_layers, channels=channels, image_size=image_size,
                      likelihood="bernoulli" if channels == 1 else "laplace", num_context=context, num_predicted=10,
                      beta_warmup_clips=20 * epoch, **fields)


def vrnn_smmnist() -> VRNNConfig:
    """The slides' best SM-MNIST model: latents "1-8-32", 6 ConvLSTMs in the likelihood, dense connections and beta
    warm-up, 5 -> 10 frames. 202.5M parameters against the slides' 230.74M. The slides' layers cannot be recovered
    exactly (the release lacks the ``vrnn_layers`` module its hierarchical model imports, and its variants differ);
    two known differences: our 1x1 kernels on 1x1 maps, where the release's 3x3 kernels would add 58.9M parameters
    that see only padding (about 261M), and the initial-state networks, whose size grows with the square of the
    context length (5 frames here). The other presets' counts compare the same way (``vidpred models``)."""
    return _vrnn()


def vrnn_smmnist_levels_1() -> VRNNConfig:
    """Hierarchy ablation, one latent level "1" (slides: 166.55M; ours 130.3M)."""
    return _vrnn(levels=(1,))


def vrnn_smmnist_levels_1_8() -> VRNNConfig:
    """Hierarchy ablation, "1-8" (slides: 220.60M; ours 198.0M)."""
    return _vrnn(levels=(1, 8))


def vrnn_smmnist_levels_1_8_16_32() -> VRNNConfig:
    """Hierarchy ablation, "1-8-16-32" (slides: 245.19M; ours 220.1M)."""
    return _vrnn(levels=(1, 8, 16, 32))


def vrnn_smmnist_convlstm_1() -> VRNNConfig:
    """Likelihood ablation (one latent level), 1 ConvLSTM: at 1x1, the rest a DCGAN-like decoder (slides: 62.22M;
    ours 75.9M: the slides' likelihood ablation ran on a base smaller than their hierarchy ablation's "1", whose
    size we cannot recover, so these three follow our "1")."""
    return _vrnn(levels=(1,), convlstm_layers=1)


def vrnn_smmnist_convlstm_3() -> VRNNConfig:
    """Likelihood ablation, 3 ConvLSTMs: at 1x1, 4x4 and 8x8 (slides: 86.64M; ours 122.6M)."""
    return _vrnn(levels=(1,), convlstm_layers=3)


def vrnn_smmnist_convlstm_6() -> VRNNConfig:
    """Likelihood ablation, 6 ConvLSTMs: at every resolution (slides: 93.81M; ours 130.3M)."""
    return _vrnn(levels=(1,), convlstm_layers=6)


def vrnn_bair() -> VRNNConfig:
    """BAIR push (64x64x3), 2 -> 10 frames (SVG's BAIR protocol, the release's example command), "1-8-32"; the
    warm-up is 20 epochs of BAIR's 43,264 training sequences (the release's loader: one clip per sequence)."""
    return _vrnn(channels=3, context=2, epoch=43_264)


def vrnn_cityscapes() -> VRNNConfig:
    """Cityscapes-like data at 128x128x3 (through ``video_folder``), 2 -> 10 frames, "1-8-32"; 6 ConvLSTMs at the
    coarsest resolutions, the 128x128 block a convolution; the warm-up is 20 of the release loader's 45,000-clip
    Cityscapes epochs."""
    return _vrnn(channels=3, image_size=128, context=2, epoch=45_000)


def vrnn_smmnist_small() -> VRNNConfig:
    """A CPU-sized VRNN for SM-MNIST: width 8 (8 ... 64 channels, 3.1M parameters), latents "1-8", 6 ConvLSTMs:
    1.95 s per batch of 16 on this project's 2-core CPU (width 16: 4.4 s; docs/RESULTS.md)."""
    return _vrnn(levels=(1, 8), width=8)


def vrnn_gan_smmnist() -> VRNNGANConfig:
    """The VRNN's GAN variant on SM-MNIST: the generator at the VRNN's width (6 ConvLSTMs, one 10-channel latent
    per step), a discriminator of width 64, 5 -> 10 frames."""
    return VRNNGANConfig(num_context=5, num_predicted=10)


def vrnn_gan_small() -> VRNNGANConfig:
    """A CPU-sized GAN variant for SM-MNIST: generator and discriminator of width 8 (1.4 s per batch of 16 for both
    networks' steps on this project's 2-core CPU)."""
    return VRNNGANConfig(width=8, disc_width=8, num_context=5, num_predicted=10)


PRESETS = {"convlstm_mmnist": convlstm_mmnist, "convlstm_small": convlstm_small,
           "walker_kinetics_256": walker_kinetics_256, "video_vqvae_mmnist": video_vqvae_mmnist,
           "video_vqvae_kth64": video_vqvae_kth64, "video_vqvae_tiny": video_vqvae_tiny,
           "hr_vqvae_mmnist_1": hr_vqvae_mmnist_1, "hr_vqvae_mmnist_3": hr_vqvae_mmnist_3,
           "hr_vqvae_mmnist_6": hr_vqvae_mmnist_6, "hr_vqvae_kth_1": hr_vqvae_kth_1, "hr_vqvae_kth_3": hr_vqvae_kth_3,
           "hr_vqvae_kth_9": hr_vqvae_kth_9, "s_hr_vqvae_tiny": s_hr_vqvae_tiny,
           "svg_lp_smmnist": svg_lp_smmnist, "svg_fp_smmnist": svg_fp_smmnist, "svg_det_smmnist": svg_det_smmnist,
           "svg_lp_kth": svg_lp_kth, "svg_lp_bair": svg_lp_bair,
           "vrnn_smmnist": vrnn_smmnist, "vrnn_smmnist_levels_1": vrnn_smmnist_levels_1,
           "vrnn_smmnist_levels_1_8": vrnn_smmnist_levels_1_8,
           "vrnn_smmnist_levels_1_8_16_32": vrnn_smmnist_levels_1_8_16_32,
           "vrnn_smmnist_convlstm_1": vrnn_smmnist_convlstm_1, "vrnn_smmnist_convlstm_3": vrnn_smmnist_convlstm_3,
           "vrnn_smmnist_convlstm_6": vrnn_smmnist_convlstm_6, "vrnn_bair": vrnn_bair,
           "vrnn_cityscapes": vrnn_cityscapes, "vrnn_smmnist_small": vrnn_smmnist_small,
           "vrnn_gan_smmnist": vrnn_gan_smmnist, "vrnn_gan_small": vrnn_gan_small}


def preset(name: str):
    """The model config of preset ``name`` (a fresh object); an unknown name fails with the list of known ones."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()


def preset_names() -> list[str]:
    return sorted(PRESETS)
