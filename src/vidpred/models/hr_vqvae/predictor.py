"""S-HR-VQVAE (Adiban et al. 2023): HR-VQVAE codes each frame, the ST-PixelCNN predicts the future frames'
codes layer by layer, HR-VQVAE's decoder turns them into frames (§4.3, Eq. 8).

The config composes the tokenizer's and the prior's configs plus ``context_frames`` (10 on Moving MNIST and KTH,
§5.2) and ``decoding``: "argmax" takes the most likely code at each position (deterministic; what the paper's
single-prediction metrics imply), "sample" draws codes (stochastic; for best-of-N).

Training (§4.4; ``training/stages.py`` runs the stages): **disjoint** -- the tokenizer on frames (Eq. 4), the
codes, then the prior on the codes (Eq. 7). **joint** (``training: joint``) adds a last stage on clips with Eq. 9,
L_p + lambda |x - D(e_C)|^2, lambda = 0.11 (§5.2), trained by ``joint_loss``. L_p is Eq. 7's cross-entropy of the
predicted frames' true codes (teacher forced). For the second term §4.4 says HR-VQVAE "only produces the latent
representations (Q_1..Q_T) for the input frames": the future latents "are predicted by ST-PixelCNN and then used to
train the HR-VQVAE decoder". ``joint_path`` chooses the route, since the paper leaves the differentiable path open:

- "rollout" (default; §4.4): the prior generates the predicted frames' codes from the context frames' codes alone,
  as at test time (arg-max or drawn, per ``decoding``; no gradient through the generation), and the decoder decodes
  their codewords. The gradient reaches the prior straight through: forward, each layer's codeword is the generated
  one (one-hot); backward, it is the expectation under the prior's softmax at that position given the generated
  codes before it (the straight-through estimator of Bengio et al. 2013; for drawn codes it is the straight-through
  Gumbel-softmax at temperature 1, a categorical draw being a Gumbel-max). Why this route: the decoder then learns on
  exactly the latents it will decode at test time -- hard codewords, with the prior's own coarser codes choosing
  each layer's codebook -- where a soft expectation would train it on latents that never occur. Measured on a CPU
  budget (docs/RESULTS.md): with a prior whose rollouts lose the digits, the decoder learns the squared error's
  answer to uncertainty, a blur (MSE far below blank's, SSIM 0.18).
- "teacher_forced": the variant vidpred had before: each future frame's distribution given the *true* earlier
  frames, its codeword the expectation of the codebook that the *true* coarser codes select. Kept because it
  measured better on SSIM (0.61 against 0.18; worse on MSE), though the decoder learns on soft codewords it never
  sees at test time.

The reconstruction term is the per-pixel mean squared error of the predicted frames, as Eq. 4's first term is in the
tokenizer's loss. The joint stage starts from the disjoint stages' weights; the encoder and codebooks stay as the
tokenizer stage left them (the codes come from them without gradient, the quantiser in evaluation mode: no EMA update
or restart moves a codeword).
One window predicts ``tokenizer.num_frames - context_frames`` frames; longer horizons slide the window over the
latest ``context_frames`` frames' codes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from vidpred.models.base import LossOutput, Pipeline, evaluating
from vidpred.models.hr_vqvae.config import SHRVQVAEConfig
from vidpred.models.hr_vqvae.prior import STPixelCNNPrior
from vidpred.models.hr_vqvae.tokenizer import HRVQVAE
from vidpred.models.tokenizer import TokenizedPredictor

PIPELINE = Pipeline(tokenizer="tokenizer", priors=("prior",))
JOINT_PIPELINE = Pipeline(tokenizer="tokenizer", priors=("prior",), joint="joint_loss")


class SHRVQVAE(TokenizedPredictor):
    system = "this S-HR-VQVAE pipeline"

    @classmethod
    def pipeline_for(cls, config: SHRVQVAEConfig) -> Pipeline:
        return JOINT_PIPELINE if config.training == "joint" else PIPELINE

    def __init__(self, config: SHRVQVAEConfig):
        super().__init__(config)
        self.tokenizer = HRVQVAE(config.tokenizer)
        self.prior = STPixelCNNPrior(config)

    @property
    def stochastic(self) -> bool:
        return self.config.decoding == "sample"

    def joint_loss(self, clips: torch.Tensor) -> LossOutput:
        """Eq. 9 on clips (B, T, C, H, W): the prior's cross-entropy on the predicted frames' codes plus lambda times
        the reconstruction error of those frames decoded from the prior's predictions (module docstring)."""
        cfg, levels = self.config, self.tokenizer.levels
        # the codes as the tokenizer stage left the encoder and codebooks: without gradient, and with the quantiser
        # in evaluation mode, so that its EMA updates and dead-code restarts do not move the codebooks (§4.4)
        with evaluating(self.tokenizer):
            codes = self.tokenizer.encode(clips[:, :cfg.clip_frames])
        logits, targets = self.prior.logits(codes, first=cfg.context_frames)  # (B, M, n, Tf, h, w), (B, n, Tf, h, w)
        nll = F.cross_entropy(logits.float(), targets)
        b, tf = targets.shape[0], targets.shape[2]
        if cfg.joint_path == "rollout":
            context = {level: c[:, :cfg.context_frames] for level, c in codes.items()}
            with evaluating(self.prior):  # the future as the prior generates it at test time
                codes = self.prior.sample(context, greedy=not self.stochastic)
            own, generated = self.prior.logits(codes, first=cfg.context_frames)
            soft = own.float().softmax(dim=1)
            hard = F.one_hot(generated, soft.shape[1]).movedim(-1, 1).to(soft.dtype)
            probs = hard + soft - soft.detach()  # straight through: the generated codewords, the softmax's gradient
        else:
            probs = logits.float().softmax(dim=1)
        per_layer = [probs[:, :, i].permute(0, 2, 3, 4, 1).flatten(0, 1) for i in range(len(levels))]  # (B*Tf, h, w, M)
        coarser = [codes[level][:, cfg.context_frames:].flatten(0, 1) for level in levels]
        latent = self.tokenizer.quantizer.expected(per_layer, coarser)  # (B*Tf, h, w, D)
        predicted = self.tokenizer.decode_latent(latent, (b, tf))
        reconstruction = F.mse_loss(predicted.float(), clips[:, cfg.context_frames:cfg.clip_frames])
        total = nll + cfg.joint_weight * reconstruction
        return LossOutput(total, {"nats_per_dim": nll.detach(), "reconstruction": reconstruction.detach()})

    @torch.no_grad()
    def _predict(self, context, horizon, num_samples, generator, temperature, cached: bool = True):
        cfg = self.config
        b, greedy = context.shape[0], not self.stochastic
        # arg-max decoding gives every sample the same codes: predict once, then repeat
        draws = 1 if greedy else num_samples
        codes = self.tokenizer.encode(self.latest_context(context).repeat_interleave(draws, dim=0))
        frames, done = [], 0
        while done < horizon:
            whole = self.prior.sample(codes, generator, temperature, greedy, cached)
            future = {level: c[:, cfg.context_frames:] for level, c in whole.items()}
            frames.append(self.tokenizer.decode(future))
            done += cfg.num_predicted
            codes = {level: c[:, -cfg.context_frames:] for level, c in whole.items()}
        video = torch.cat(frames, dim=1)[:, :horizon]
        video = video.view(b, draws, *video.shape[1:])
        return video.expand(-1, num_samples, *video.shape[2:]).contiguous() if greedy else video
