"""S-HR-VQVAE's spatiotemporal PixelCNN (Adiban et al. 2023 §4.2, Eqs. 6-7): the prior over each tree layer's
codes of a clip, causal in raster order within a frame and in time.

One gated PixelCNN (``nn/pixelcnn.py``: no blind spot, cached sampling) per tree layer, over the layer's codes of
the whole clip, (T, h, w) = (20, 16, 16) on Moving MNIST: the context frames' codes are given (teacher forced in
training, a fixed prefix in sampling) and Eq. 7's cross-entropy counts the predicted frames. ``loss_on_context``
(beyond the paper) also counts frames 2..context in training: the network is causal in time, so predicting frame t
from frames < t is the same task at every t and the extra frames are more signal for the same compute (about twice
as much on 10 -> 10); evaluation (the module in eval mode, and the test NLL) counts the predicted frames only.

Conditioning (``condition_on_coarser``): Eq. 6 conditions layer i on its own history only (``False``, the paper).
With ``True`` layer i also sees, at each position, which codebook the coarser layers selected there (the path of
their codes, embedded): the meaning of a layer-i code depends on it. Layers are then sampled coarse to fine over
the whole predicted clip. docs/RESULTS.md compares both.

The paper gives no widths for the ST-PixelCNN; Table 2's 1.14M parameters for the whole Moving MNIST model bound
them, and its attention "applied to 3D voxels" follows every ``attention_every`` gated layers (0: none).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from vidpred.models.tokenizer import CodePrior
from vidpred.nn.pixelcnn import GatedPixelCNN

if TYPE_CHECKING:
    from vidpred.models.hr_vqvae.predictor import SHRVQVAEConfig


@dataclass
class STPixelCNNConfig:
    hidden: int = 64
    layers: int = 6
    kernel: int = 3  # spatial filter size
    time_kernel: int = 3  # the past stack's extent in time
    attention_every: int = 0
    heads: int = 4
    dropout: float = 0.0
    condition_on_coarser: bool = False  # Eq. 6: False
    embed: int = 16  # width of the coarser layers' path embedding
    loss_on_context: bool = False  # Eq. 7: False (predicted frames only); see the module docstring


class STPixelCNNPrior(CodePrior):
    def __init__(self, cfg: SHRVQVAEConfig):
        super().__init__()
        t, p = cfg.tokenizer, cfg.prior
        self.levels = tuple(f"layer{i + 1}" for i in range(t.num_layers))
        self.codebook_size, self.context_frames = t.codebook_size, cfg.context_frames
        self.train_from = 1 if p.loss_on_context else cfg.context_frames
        grid = (t.num_frames, t.latent_size, t.latent_size)
        conditioned = [p.condition_on_coarser and i > 0 for i in range(t.num_layers)]
        self.pixelcnns = nn.ModuleList(
            GatedPixelCNN(num_codes=t.codebook_size, grid=grid, hidden=p.hidden, layers=p.layers, kernel=p.kernel,
                          time_kernel=p.time_kernel, attention_every=p.attention_every, heads=p.heads,
                          dropout=p.dropout, cond_channels=p.embed if c else 0) for c in conditioned)
        # the path of coarser codes at a position names one of M^(i-1) codebooks of layer i
        self.paths = nn.ModuleList(nn.Embedding(t.codebook_size ** i, p.embed) if c else nn.Identity()
                                   for i, c in enumerate(conditioned))
        self.conditioned = conditioned

    def _cond(self, i: int, path: torch.Tensor) -> torch.Tensor | None:
        """Conditioning of layer i from the flat path index of the coarser codes (B, T, h, w)."""
        return self.paths[i](path).permute(0, 4, 1, 2, 3) if self.conditioned[i] else None

    def logits(self, batch: dict[str, torch.Tensor], first: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits of every layer from frame ``first`` on, (B, M, n, T - first, h, w), and the codes.
        ``first`` defaults to the predicted frames (and, in training with ``loss_on_context``, to frame 2)."""
        if first is None:
            first = self.train_from if self.training else self.context_frames
        path = torch.zeros_like(batch[self.levels[0]])
        logits, targets = [], []
        for i, level in enumerate(self.levels):
            codes = batch[level]
            logits.append(self.pixelcnns[i](codes, self._cond(i, path))[:, :, first:])
            targets.append(codes[:, first:])
            path = path * self.codebook_size + codes
        return torch.stack(logits, dim=2), torch.stack(targets, dim=1)

    @torch.no_grad()
    def sample(self, context: dict[str, torch.Tensor], generator=None, temperature: float = 1.0, greedy: bool = False,
               cached: bool = True) -> dict[str, torch.Tensor]:
        """The context frames' codes {level: (B, Tc, h, w)} -> every layer's codes of the whole clip, the predicted
        frames drawn (or arg-max with ``greedy``) layer after layer, coarse to fine."""
        first = context[self.levels[0]]
        b, steps = first.shape[0], self.pixelcnns[0].grid[0]
        path = torch.zeros(b, steps, *first.shape[2:], dtype=torch.long, device=first.device)
        out = {}
        for i, level in enumerate(self.levels):
            out[level] = self.pixelcnns[i].sample(b, self._cond(i, path), generator, temperature, cached,
                                                  prefix=context[level], greedy=greedy)
            path = path * self.codebook_size + out[level]
        return out
