"""S-HR-VQVAE's spatiotemporal PixelCNN (Adiban et al. 2023 §4.2, Eqs. 6-7): the prior over each tree layer's
codes of a clip, causal in raster order within a frame and in time.

One gated PixelCNN (``nn/pixelcnn.py``: no blind spot, cached sampling) per tree layer, over the layer's codes of
the whole clip, (T, h, w) = (20, 16, 16) on Moving MNIST: the context frames' codes are given (teacher forced in
training, a fixed prefix in sampling) and Eq. 7's cross-entropy counts the predicted frames. ``loss_on_context``
(beyond the paper) also counts frames 2..context in training: the network is causal in time, so predicting frame t
from frames < t is the same task at every t and the extra frames are more signal for the same compute (about twice
as much on 10 -> 10); evaluation (the module in eval mode, and the test NLL) counts the predicted frames only.

Conditioning, two switches (docs/RESULTS.md measures them). Eq. 6 conditions layer i on its own history only
(both off: the paper). ``condition_on_coarser``: layer i also sees, at each position, which codebook the coarser
layers selected there in the same frame (the path of their codes, embedded): the meaning of a layer-i code
depends on it. ``history: all``: layer i also sees every layer's codes of the earlier frames (at each position,
the previous frame's leaf of the tree, embedded) instead of its own layer's alone. The idea: a layer-1 code (one
of 4 on Moving MNIST) says little about where in its 4x4-pixel cell a stroke lies, while the digits move 3.6
pixels a frame. Measured on Moving MNIST it did not pay: the same layer-1 NLL and worse arg-max rollouts at equal
training (docs/RESULTS.md), so the shipped config keeps Eq. 6's own history. Either
conditioning enters every gated layer's stacks as a 1x1 convolution (``GatedPixelCNN``'s ``cond``); the previous
frame's leaf at (t, y, x) depends on frames before t only, so causality holds. Sampling goes frame by frame, and
within a frame coarse to fine, each layer's ST-PixelCNN advanced one step at a time (``sample_steps``).

The paper gives no widths for the ST-PixelCNN; Table 2's 1.14M parameters for the whole Moving MNIST model bound
them. §4.2: its masking "is implemented using multi-head attention layers ... applied to 3D voxels": causal
multi-head self-attention over the layer's (t, y, x) voxels in raster order -- the order its sampler visits them
(``nn/attention.py``, shared with Walker et al.'s top prior) -- follows every ``attention_every``-th gated layer
(the presets: every 2nd, 4 heads). Its position embedding is factorised (one vector per frame, row and column:
C x (T + H + W) parameters instead of C x T x H x W, which at 20 x 16 x 16 would add ~0.5M parameters to a model the
paper puts at 1.14M). The cached sampler solves a whole frame at once, attention included (``nn/pixelcnn.py``).
"""
from __future__ import annotations

import torch
from torch import nn

from vidpred.models.hr_vqvae.config import SHRVQVAEConfig
from vidpred.models.tokenizer import CodePrior
from vidpred.nn.pixelcnn import GatedPixelCNN


class STPixelCNNPrior(CodePrior):
    def __init__(self, cfg: SHRVQVAEConfig):
        super().__init__()
        t, p = cfg.tokenizer, cfg.prior
        self.levels = tuple(f"layer{i + 1}" for i in range(t.num_layers))
        self.codebook_size, self.context_frames = t.codebook_size, cfg.context_frames
        self.train_from = 1 if p.loss_on_context else cfg.context_frames
        self.leaves = t.codebook_size ** t.num_layers  # a path through the whole tree; index `leaves`: no frame
        grid = (t.num_frames, t.latent_size, t.latent_size)
        self.coarser = [p.condition_on_coarser and i > 0 for i in range(t.num_layers)]
        self.whole_history = p.history == "all"
        conditioned = [c or self.whole_history for c in self.coarser]
        self.pixelcnns = nn.ModuleList(
            GatedPixelCNN(num_codes=t.codebook_size, grid=grid, hidden=p.hidden, layers=p.layers, kernel=p.kernel,
                          time_kernel=p.time_kernel, attention_every=p.attention_every, heads=p.heads,
                          dropout=p.dropout, cond_channels=p.embed if c else 0,
                          factorised_position=p.factorised_position, solve_steps=True) for c in conditioned)
        # the path of coarser codes at a position names one of M^(i-1) codebooks of layer i
        self.paths = nn.ModuleList(nn.Embedding(t.codebook_size ** i, p.embed) if c else nn.Identity()
                                   for i, c in enumerate(self.coarser))
        self.history = nn.ModuleList(nn.Embedding(self.leaves + 1, p.embed) if self.whole_history else nn.Identity()
                                     for _ in range(t.num_layers))

    def _cond(self, i: int, path: torch.Tensor, previous: torch.Tensor) -> torch.Tensor | None:
        """Conditioning of layer i (B, embed, T, h, w) from the flat index of the coarser codes' path and of the
        previous frame's leaf (B, T, h, w) each; None when layer i has none."""
        parts = ([self.paths[i](path)] if self.coarser[i] else []) + \
                ([self.history[i](previous)] if self.whole_history else [])
        return sum(parts).permute(0, 4, 1, 2, 3) if parts else None

    def _previous(self, leaf: torch.Tensor) -> torch.Tensor:
        """Each frame's previous-frame leaf index (B, T, h, w); the first frame has none."""
        return torch.cat([torch.full_like(leaf[:, :1], self.leaves), leaf[:, :-1]], dim=1)

    def logits(self, batch: dict[str, torch.Tensor], first: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits of every layer from frame ``first`` on, (B, M, n, T - first, h, w), and the codes.
        ``first`` defaults to the predicted frames (and, in training with ``loss_on_context``, to frame 2)."""
        if first is None:
            first = self.train_from if self.training else self.context_frames
        paths = [torch.zeros_like(batch[self.levels[0]])]
        for level in self.levels:
            paths.append(paths[-1] * self.codebook_size + batch[level])
        previous = self._previous(paths[-1])
        logits, targets = [], []
        for i, level in enumerate(self.levels):
            codes = batch[level]
            logits.append(self.pixelcnns[i](codes, self._cond(i, paths[i], previous))[:, :, first:])
            targets.append(codes[:, first:])
        return torch.stack(logits, dim=2), torch.stack(targets, dim=1)

    @torch.no_grad()
    def sample(self, context: dict[str, torch.Tensor], generator=None, temperature: float = 1.0, greedy: bool = False,
               cached: bool = True) -> dict[str, torch.Tensor]:
        """The context frames' codes {level: (B, Tc, h, w)} -> every layer's codes of the whole clip, the predicted
        frames drawn (or arg-max with ``greedy``) frame by frame and, within a frame, coarse to fine."""
        first = context[self.levels[0]]
        b, known, steps = first.shape[0], first.shape[1], self.pixelcnns[0].grid[0]
        zeros = torch.zeros(b, steps, *first.shape[2:], dtype=torch.long, device=first.device)
        paths = [zeros.clone() for _ in range(len(self.levels) + 1)]
        for i, level in enumerate(self.levels):  # the context frames' paths; later frames are set as drawn
            paths[i + 1][:, :known] = paths[i][:, :known] * self.codebook_size + context[level]
        previous = self._previous(paths[-1])
        conds = [self._cond(i, paths[i], previous) for i in range(len(self.levels))]
        runs = [net.sample_steps(b, conds[i], generator, temperature, cached, prefix=context[level], greedy=greedy)
                for i, (net, level) in enumerate(zip(self.pixelcnns, self.levels))]
        out = {}
        for t in range(known, steps):
            if t > known:  # this frame's previous leaf, drawn last frame
                previous[:, t] = paths[-1][:, t - 1]
            for i, level in enumerate(self.levels):
                if conds[i] is not None:  # step t of layer i reads its conditioning when it starts
                    conds[i][:, :, t] = self._cond(i, paths[i][:, t:t + 1], previous[:, t:t + 1])[:, :, 0]
                out[level] = next(runs[i])
                paths[i + 1][:, t] = paths[i][:, t] * self.codebook_size + out[level][:, t]
        return out
