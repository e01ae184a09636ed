"""The complete Video VQ-VAE predictor (Walker et al. 2021 §3.2): tokenizer + top prior + bottom prior, and how it
samples a future.

Its config is composed of the parts' configs (``tokenizer``, ``top_prior``, ``bottom_prior``) plus the number of
context frames; how each part trains (batch, steps, learning rate) belongs to the experiment, not the model
(``training/config.py``: ``stages``). It trains as a pipeline of stages (``PIPELINE``; ``training/stages.py``):
the tokenizer on clips, then codes extracted from the data, then each prior on the codes.

**Sampling** (§3.2): the context frames are encoded on their own; the top prior draws the generated top steps in
raster order, step after step; then the bottom prior slice by slice; then the decoder. Horizons longer than one
clip continue with a sliding window: the window's last ``context_frames`` decoded frames, encoded on their own, are
the next window's context codes -- as the priors were trained (``training/codes.py`` encodes each clip's context
frames alone; the generated window's own codes of those frames disagree with such an encoding on most positions).
"""
from __future__ import annotations

import torch

from vidpred.models.base import Pipeline
from vidpred.models.tokenizer import TokenizedPredictor
from vidpred.models.video_vqvae.config import VideoVQConfig
from vidpred.models.video_vqvae.priors import BottomPrior, TopPrior
from vidpred.models.video_vqvae.tokenizer import VideoVQVAE

PIPELINE = Pipeline(tokenizer="tokenizer", priors=("top_prior", "bottom_prior"))


class VideoVQPredictor(TokenizedPredictor):
    """Tokenizer + top prior + bottom prior: encode context -> sample top -> sample bottom -> decode."""

    stochastic = True
    system = "this Video VQ-VAE pipeline"

    @classmethod
    def pipeline_for(cls, config: VideoVQConfig) -> Pipeline:
        return PIPELINE

    def __init__(self, config: VideoVQConfig):
        super().__init__(config)
        self.tokenizer = VideoVQVAE(config.tokenizer)
        self.top_prior = TopPrior(config)
        self.bottom_prior = BottomPrior(config)

    @torch.no_grad()
    def _predict(self, context, horizon, num_samples, generator, temperature, cached: bool = True):
        cfg = self.config
        b = context.shape[0]
        context = self.latest_context(context).repeat_interleave(num_samples, dim=0)
        codes = self.tokenizer.encode(context)
        top, bottom = codes["top"], codes["bottom"]
        ct, cb = cfg.context_steps
        frames = []
        while True:
            generated = self.top_prior.sample(top[:, -ct:], bottom[:, -cb:], generator, temperature, cached)
            window_top = torch.cat([top[:, -ct:], generated], dim=1)
            window_bottom = self.bottom_prior.sample(window_top, bottom[:, -cb:], generator, temperature, cached)
            window = self.tokenizer.decode({"top": window_top, "bottom": window_bottom})
            frames.append(window[:, cfg.context_frames:])
            if sum(f.shape[1] for f in frames) >= horizon:
                break
            # the next window's context as the priors learnt it: the last decoded frames encoded on their own
            codes = self.tokenizer.encode(window[:, -cfg.context_frames:])
            top, bottom = codes["top"], codes["bottom"]
        video = torch.cat(frames, dim=1)[:, :horizon]
        return video.view(b, num_samples, *video.shape[1:])
