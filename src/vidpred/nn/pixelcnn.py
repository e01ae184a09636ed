"""Gated PixelCNN over a (T, H, W) grid of discrete codes, causal in raster order (t, then y, then x), with no
blind spot.

Walker et al. 2021 §3.2 extend the gated PixelCNN of van den Oord et al. (2016) into time by giving its vertical
and horizontal stacks a time extent: kernels (t, k, 1) and (t, 1, k). Taken literally that leaves blind spots
(the logits at (t, y, x) never see the row above two columns to the right, nor anything of the previous step
more than k//2 rows below), which is exactly what the gated PixelCNN was made to remove. The reason is
structural: every feature at an earlier step is itself causal in raster order, so reading it over any window
cannot reveal rows of that step below the window. The gated PixelCNN's answer in 2D -- a stack that holds all
rows above, read over the kernel's whole width -- generalises to 3D as one more stack:

- the **past** stack p(t, y, x) depends on the earlier steps only (any position in them): its first layer reads
  the codes at dt < 0 over the whole (t, k, k) kernel, its gated layers read p over (t, k, k) at dt <= 0 (p at
  step t holds nothing of step t). Its reach into earlier steps grows by k//2 in every direction per layer;
- the **vertical** stack v(t, y, x) depends on the earlier steps and the rows above in step t: first layer (t, k,
  k) over the codes at dt < 0 or dy < 0; gated layers read v over the rows above *and* the row itself, at every
  column of the (1, k, k) kernel (v is blind to its own row), and add p's pre-activation (1x1);
- the **horizontal** stack h(t, y, x) adds the positions to the left: first layer (t, k, k) over dt < 0, dy < 0
  or (dy = 0, dx < 0) (PixelCNN's mask A); gated layers read h over (1, 1, k) at dx <= 0 and add v's
  pre-activation (1x1). It is residual, and its output feeds the logits.

Each gated layer adds the conditioning (1x1) to every stack and gates: tanh(a) * sigmoid(b). Multi-head causal
self-attention (``nn/attention.py``) follows every ``attention_every``-th gated layer, on the horizontal stack.
A grid of one step (the 2D bottom prior) or ``time_kernel = 1`` has nothing earlier to read: no past stack.
Compared with Walker et al.'s reading this costs kernel taps per layer: past k*k*t, vertical k*k, horizontal k,
against their t*k + t*k (the parameter counts of the Table 4 presets grow accordingly; tests print them).

Table 4's "hidden units" are the stacks' widths and its "residual units" (twice the hidden units at both sizes)
the width of each gated convolution's output before the gate (its tanh and sigmoid halves): our reading; the
table gives no other place for a second width.

Causality is enforced by masking the convolution kernels (``causal_mask``) and by the attention's causal mask,
so the logits at a position never depend on the code there or on anything later; tests check it by
perturbation and by gradient at every position, and that every earlier position within reach does change them.

Fast sampling (``sample(..., cached=True)``): instead of re-running the whole network for each of the grid's
positions (the naive sampler, ``cached=False``, kept as the reference), every layer keeps its input so far in a
buffer and computes only what is new (Ramachandran et al. 2017's fast PixelCNN generation): a masked
convolution's output at p needs only inputs at positions before p, which earlier steps have already written;
attention keeps its keys and values. The past stack depends only on earlier steps, so it is computed once per
step for the whole step; the vertical stack once per row for the whole row; the horizontal stack once per
position. Both samplers turn the same pre-drawn uniform numbers into codes by inverse-CDF sampling, so for one
seed they return the same codes.

The cached sampler goes further and solves a whole step at once (``_solve_step``): a code is a
fixed function of its logits and its pre-drawn number (or the arg-max), and the logits read only earlier
positions -- the attention's too, over the cached keys of earlier steps and the step's own up to each position --
so iterating "compute the step's logits from a guess of its codes, choose them all" from a guess (the
previous step's codes) reaches, within H * W + 1 rounds, exactly the codes that choosing position by position
gives (Jacobi iteration of the autoregressive equations; Song et al. 2021 use it for faster autoregressive
sampling). On video most of a frame repeats the previous one, so a step takes a handful of rounds of one
batched pass each instead of H * W positions' worth of small calls.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from vidpred.nn.attention import CausalSelfAttention3d

# Which kernel offsets (dt <= 0, dy, dx) a masked convolution may read, given what its input at an offset depends on.
REGIONS = {
    # input = the codes themselves: only earlier time steps (past stack, layer 0) ...
    "earlier": lambda dt, dy, dx: dt < 0,
    # ... or also the rows above in the current step (vertical stack, layer 0) ...
    "above": lambda dt, dy, dx: dt < 0 or (dt == 0 and dy < 0),
    # ... or also the positions to the left in the same row (horizontal stack, layer 0; PixelCNN's mask A)
    "before": lambda dt, dy, dx: dt < 0 or (dt == 0 and (dy < 0 or (dy == 0 and dx < 0))),
    # input = the past stack (blind to its own step): the current step too, anywhere
    "past": lambda dt, dy, dx: True,
    # input = the vertical stack (already blind to its own row): the same row and every row above in this step
    "vertical": lambda dt, dy, dx: dt < 0 or (dt == 0 and dy <= 0),
    # input = the horizontal stack (already blind to its own position): up to and including the position itself
    "horizontal": lambda dt, dy, dx: dt < 0 or (dt == 0 and (dy < 0 or (dy == 0 and dx <= 0))),
}


def causal_mask(kernel: tuple[int, int, int], region: str) -> torch.Tensor:
    """(kt, kh, kw) float mask; the kernel covers offsets dt in [-(kt-1), 0], dy in [-kh//2, kh//2], likewise dx."""
    kt, kh, kw = kernel
    allowed = REGIONS[region]
    mask = torch.zeros(kernel)
    for i in range(kt):
        for j in range(kh):
            for k in range(kw):
                mask[i, j, k] = float(allowed(i - (kt - 1), j - kh // 2, k - kw // 2))
    return mask


class MaskedConv3d(nn.Conv3d):
    """A 3D convolution that reads only the allowed offsets of ``region``; padded so the output keeps the grid."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int, int], region: str):
        if kernel[1] % 2 == 0 or kernel[2] % 2 == 0:
            raise ValueError(f"spatial kernel sizes must be odd, got {kernel}")
        super().__init__(in_channels, out_channels, kernel)
        self.register_buffer("mask", causal_mask(kernel, region), persistent=False)
        kt, kh, kw = kernel
        self.pad = (kw // 2, kw // 2, kh // 2, kh // 2, kt - 1, 0)  # F.pad order: x, y, t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv3d(F.pad(x, self.pad), self.weight * self.mask, self.bias)

    # Fast sampling: the layer's input so far lives in a zero-padded buffer (as ``forward`` pads it); each method
    # writes what is new, then convolves only the window its outputs need.

    def _state(self, cache: dict, grid: tuple[int, int, int]):
        """This layer's input buffer and masked weight (also as a matrix), made on first use."""
        if self not in cache:
            kt, kh, kw = self.kernel_size
            t, h, w = grid
            weight = self.weight * self.mask
            buffer = weight.new_zeros(cache["batch"], self.in_channels, t + kt - 1, h + kh - 1, w + kw - 1)
            cache[self] = (buffer, weight, weight.reshape(self.out_channels, -1).t())
        return cache[self]

    def step(self, cache: dict, pos: tuple[int, int, int], x: torch.Tensor | None, grid: tuple[int, int, int]):
        """The output at ``pos`` (B, out) after writing this layer's input there (``x`` (B, in); None: not known
        yet, allowed when the mask never reads the position itself)."""
        buffer, _, matrix = self._state(cache, grid)
        kt, kh, kw = self.kernel_size
        t, y, x_ = pos
        if x is not None:
            self.write(cache, pos, x)
        window = buffer[:, :, t:t + kt, y:y + kh, x_:x_ + kw].reshape(buffer.shape[0], -1)
        return torch.addmm(self.bias, window, matrix)

    def row(self, cache: dict, t: int, y: int, x: torch.Tensor | None, grid: tuple[int, int, int]) -> torch.Tensor:
        """The outputs along row (t, y), (B, out, W), after writing the row of inputs ``x`` (B, in, W) (None: only
        for masks that never read the row itself)."""
        buffer, weight, _ = self._state(cache, grid)
        kt, kh, kw = self.kernel_size
        if x is not None:
            buffer[:, :, t + kt - 1, y + kh // 2, kw // 2:kw // 2 + x.shape[-1]] = x
        return F.conv3d(buffer[:, :, t:t + kt, y:y + kh], weight, self.bias)[:, :, 0, 0]

    def plane(self, cache: dict, t: int, x: torch.Tensor | None, grid: tuple[int, int, int]) -> torch.Tensor:
        """The outputs over step t, (B, out, H, W), after writing the step's inputs ``x`` (B, in, H, W) (None:
        only for masks that never read the step itself)."""
        buffer, weight, _ = self._state(cache, grid)
        kt, kh, kw = self.kernel_size
        if x is not None:
            buffer[:, :, t + kt - 1, kh // 2:kh // 2 + x.shape[-2], kw // 2:kw // 2 + x.shape[-1]] = x
        return F.conv3d(buffer[:, :, t:t + kt], weight, self.bias)[:, :, 0]

    def write(self, cache: dict, pos: tuple[int, int, int], x: torch.Tensor) -> None:
        kt, kh, kw = self.kernel_size
        t, y, x_ = pos
        cache[self][0][:, :, t + kt - 1, y + kh // 2, x_ + kw // 2] = x

    def write_steps(self, cache: dict, x: torch.Tensor, grid: tuple[int, int, int], start: int = 0) -> None:
        """Write this layer's inputs ``x`` (B, in, n, H, W) of steps start .. start + n - 1 at once."""
        buffer = self._state(cache, grid)[0]
        kt, kh, kw = self.kernel_size
        first = kt - 1 + start
        buffer[:, :, first:first + x.shape[2], kh // 2:kh // 2 + x.shape[-2], kw // 2:kw // 2 + x.shape[-1]] = x


def pointwise(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    """A 1x1x1 convolution applied to channels-first features of any shape after the batch: (B, in, ...) ->
    (B, out, ...); the cached sampler's positions, rows and steps."""
    return F.linear(x.movedim(1, -1), conv.weight.flatten(1), conv.bias).movedim(-1, 1)


def gate(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    a, b = x.chunk(2, dim=dim)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated layer of the three stacks (module docstring); ``past=False``: no past stack (a 2D grid)."""

    def __init__(self, *, hidden: int, kernel: int, time_kernel: int, dropout: float, cond_channels: int,
                 past: bool):
        super().__init__()
        self.p_conv = MaskedConv3d(hidden, 2 * hidden, (time_kernel, kernel, kernel), "past") if past else None
        self.p_to_v = nn.Conv3d(2 * hidden, 2 * hidden, 1) if past else None
        self.v_conv = MaskedConv3d(hidden, 2 * hidden, (1, kernel, kernel), "vertical")
        self.h_conv = MaskedConv3d(hidden, 2 * hidden, (1, 1, kernel), "horizontal")
        self.v_to_h = nn.Conv3d(2 * hidden, 2 * hidden, 1)
        stacks = 3 if past else 2
        self.cond = nn.Conv3d(cond_channels, 2 * stacks * hidden, 1) if cond_channels else None
        self.h_out = nn.Conv3d(hidden, hidden, 1)
        self.dropout = nn.Dropout(dropout)

    def _cond(self, cond: torch.Tensor | None) -> tuple:
        """The conditioning's additions to the (vertical, horizontal, past) pre-activations (zeros: no cond)."""
        if self.cond is None:
            return 0, 0, 0
        parts = pointwise(self.cond, cond).chunk(3 if self.p_conv is not None else 2, dim=1)
        return (*parts, 0)[:3]

    def forward(self, p, v, h, cond):
        """Stacks (B, hidden, T, H, W) (``p`` None without a past stack) -> the next layer's (p, v, h)."""
        cv, ch, cp = self._cond(cond)
        v_add = 0
        if self.p_conv is not None:
            p_pre = self.p_conv(p) + cp
            v_add, p = self.p_to_v(p_pre), gate(p_pre)
        return (p, *self.within_step(v, h, cv, ch, v_add))

    def within_step(self, v, h, cv, ch, v_add):
        """The vertical and horizontal stacks, given the conditioning's additions ``cv``, ``ch`` and the past
        stack's addition ``v_add`` to the vertical pre-activation: (v, h) (B, hidden, T, H, W) -> the next
        layer's (v, h). Their kernels span one step: they read nothing of another step."""
        v_pre = self.v_conv(v) + cv + v_add
        h_pre = self.h_conv(h) + ch + self.v_to_h(v_pre)
        return gate(v_pre), h + self.h_out(self.dropout(gate(h_pre)))

    def plane(self, cache, t, p, cond, grid):
        """Fast sampling, once per step: the past stack depends only on earlier steps, so the whole step's past
        output and its contribution to the vertical pre-activation are computed at once: returns (next past
        plane (B, hidden, H, W), vertical additions (B, 2 hidden, H, W))."""
        p_pre = self.p_conv.plane(cache, t, p, grid) + self._cond(cond)[2]
        return gate(p_pre), pointwise(self.p_to_v, p_pre)

    def row(self, cache, t, y, v, cond, v_add, grid):
        """Fast sampling, once per row: the vertical stack depends only on rows above (and earlier steps), so the
        whole row's vertical output and its contribution to the horizontal pre-activation are computed at once:
        returns (next vertical row (B, hidden, W), horizontal additions (B, 2 hidden, W))."""
        cv, ch, _ = self._cond(cond)
        v_pre = self.v_conv.row(cache, t, y, v, grid) + cv + v_add
        return gate(v_pre), ch + pointwise(self.v_to_h, v_pre)

    def step(self, cache, pos, h, h_add, grid):
        """Fast sampling, once per position: the horizontal stack at ``pos`` given the row's additions there."""
        h_pre = self.h_conv.step(cache, pos, h, grid) + h_add
        return h + pointwise(self.h_out, gate(h_pre))


def sample_codes(logits: torch.Tensor, uniform: torch.Tensor, temperature: float) -> torch.Tensor:
    """Inverse-CDF sampling: logits (..., K), uniform (...) in [0, 1) -> codes (...). Deterministic given
    ``uniform``, so two samplers that compute (nearly) equal logits draw equal codes."""
    cdf = torch.softmax(logits.double() / temperature, dim=-1).cumsum(-1).contiguous()
    codes = torch.searchsorted(cdf, (uniform.double() * cdf[..., -1]).unsqueeze(-1)).squeeze(-1)
    return codes.clamp_(max=logits.shape[-1] - 1)


class GatedPixelCNN(nn.Module):
    """Logits over ``num_codes`` at every position of a (T, H, W) grid, given the codes before it and an
    optional conditioning tensor (B, cond_channels, T, H, W). ``kernel`` is the spatial filter size,
    ``time_kernel`` the past stack's extent in time (1: no past stack)."""

    def __init__(self, *, num_codes: int, grid: tuple[int, int, int], hidden: int, layers: int, kernel: int,
                 time_kernel: int, attention_every: int, heads: int, dropout: float, cond_channels: int = 0,
                 factorised_position: bool = False, solve_steps: bool | None = None):
        super().__init__()
        self.grid, self.num_codes = tuple(grid), num_codes
        past = self.grid[0] > 1 and time_kernel > 1
        self.embed = nn.Embedding(num_codes, hidden)
        self.p_first = MaskedConv3d(hidden, hidden, (time_kernel, kernel, kernel), "earlier") if past else None
        self.v_first = MaskedConv3d(hidden, hidden, (1, kernel, kernel), "above")
        self.h_first = MaskedConv3d(hidden, hidden, (1, kernel, kernel), "before")
        self.layers = nn.ModuleList(
            GatedLayer(hidden=hidden, kernel=kernel, time_kernel=time_kernel, dropout=dropout,
                       cond_channels=cond_channels, past=past) for _ in range(layers))
        self.attention = nn.ModuleDict({
            str(i): CausalSelfAttention3d(hidden, heads, grid, factorised_position)
            for i in range(layers) if attention_every and (i + 1) % attention_every == 0})
        self.head = nn.Conv3d(hidden, num_codes, 1)
        # the cached sampler solves whole steps, or goes position by position; by default whole steps unless there
        # is attention (Walker et al.'s priors, whose 32x32 and 64x64 steps were measured position by position)
        self.solve_steps = not self.attention if solve_steps is None else solve_steps

    def forward(self, codes: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """codes (B, T, H, W) long -> logits (B, num_codes, T, H, W)."""
        return self.forward_embedded(self.embed(codes).permute(0, 4, 1, 2, 3), cond)

    def forward_embedded(self, e: torch.Tensor, cond: torch.Tensor | None = None,
                         keep: Callable | None = None) -> torch.Tensor:
        """The network after the embedding lookup (e (B, hidden, T, H, W)); tests take gradients through it.
        ``keep(layer, x)`` is handed every masked convolution's and attention's input (the cached sampler's prefill)."""
        if tuple(e.shape[2:]) != self.grid:
            raise ValueError(f"the prior was built for a {self.grid} grid of codes, got {tuple(e.shape[2:])}")
        keep = keep or (lambda layer, x: None)
        for conv in (self.p_first, self.v_first, self.h_first):
            if conv is not None:
                keep(conv, e)
        p = self.p_first(e) if self.p_first is not None else None
        v, h = self.v_first(e), self.h_first(e)
        for i, layer in enumerate(self.layers):
            for conv, x in ((layer.p_conv, p), (layer.v_conv, v), (layer.h_conv, h)):
                if conv is not None:
                    keep(conv, x)
            p, v, h = layer(p, v, h, cond)
            if str(i) in self.attention:
                keep(self.attention[str(i)], h)
                h = h + self.attention[str(i)](h)
        return self.head(F.relu(h))

    def _prefill(self, cache: dict, codes: torch.Tensor, cond: torch.Tensor | None, steps: int) -> None:
        """Fill the cached sampler's buffers for the first ``steps`` steps of ``codes`` in one forward pass: every
        input there depends only on positions before it, all given, so it equals what stepping would write."""
        positions = steps * self.grid[1] * self.grid[2]

        def keep(layer, x):
            if isinstance(layer, MaskedConv3d):
                layer.write_steps(cache, x[:, :, :steps], self.grid)
            else:
                layer.prefill(cache, x, positions)

        self.forward_embedded(self.embed(codes).permute(0, 4, 1, 2, 3), cond, keep)

    def _step(self, cache: dict, index: int, cond: torch.Tensor | None) -> torch.Tensor:
        """Logits (B, K) at flat position ``index``; every earlier position's code must have been written."""
        t, y, x = pos = _unravel(index, self.grid)
        if y == 0 and x == 0:  # a new step: its past stack, for every layer, from the earlier steps
            cache["plane"] = self._planes(cache, t, cond)
        if x == 0:  # a new row: its vertical stack, for every layer, from the rows above
            v = self.v_first.row(cache, t, y, None, self.grid)
            c = cond[:, :, t, y] if cond is not None else None
            cache["row"] = []
            for i, layer in enumerate(self.layers):
                v_add = cache["plane"][i][:, :, y] if self.p_first is not None else 0
                v, h_add = layer.row(cache, t, y, v, c, v_add, self.grid)
                cache["row"].append(h_add)
        h = self.h_first.step(cache, pos, None, self.grid)
        for i, layer in enumerate(self.layers):
            h = layer.step(cache, pos, h, cache["row"][i][:, :, x], self.grid)
            if str(i) in self.attention:
                h = h + self.attention[str(i)].step(cache, index, h)
        return pointwise(self.head, F.relu(h))

    def _planes(self, cache: dict, t: int, cond: torch.Tensor | None) -> list:
        """The past stack over step t, once per step: every layer's addition to the vertical pre-activation
        (B, 2 hidden, H, W); zeros without a past stack."""
        adds = [0] * len(self.layers)
        if self.p_first is not None:
            p = self.p_first.plane(cache, t, None, self.grid)
            c = cond[:, :, t] if cond is not None else None
            for i, layer in enumerate(self.layers):
                p, adds[i] = layer.plane(cache, t, p, c, self.grid)
        return adds

    def _solve_step(self, cache: dict, t: int, cond: torch.Tensor | None, choose: Callable,
                    guess: torch.Tensor) -> torch.Tensor:
        """All of step t's codes (B, H, W) at once, by fixed-point (Jacobi) iteration from ``guess``: compute the
        whole step's logits from the guess, choose every code, repeat until the codes stop changing. The logits
        at a position read only earlier positions, so after n rounds the first n positions hold what choosing
        them one by one gives, and a fixed point is that result: the same codes in at most H * W + 1 rounds,
        usually far fewer (most of a frame is predictable). The past stack is computed once, as in ``_step``;
        attention reads the earlier steps' cached keys and values, and caches the step's once its codes are final."""
        height, width = self.grid[1:]
        start = t * height * width
        adds = [a.unsqueeze(2) if torch.is_tensor(a) else a for a in self._planes(cache, t, cond)]
        c = cond[:, :, t:t + 1] if cond is not None else None
        conds = [layer._cond(c)[:2] for layer in self.layers]
        for _ in range(height * width + 1):
            e = self.embed(guess).permute(0, 3, 1, 2).unsqueeze(2)  # (B, hidden, 1, H, W)
            v, h = self.v_first(e), self.h_first(e)
            attended = {}  # the step's keys and values at each attention layer, from this round's guess
            for i, (layer, (cv, ch), add) in enumerate(zip(self.layers, conds, adds)):
                v, h = layer.within_step(v, h, cv, ch, add)
                if str(i) in self.attention:
                    out, attended[str(i)] = self.attention[str(i)].solve_plane(cache, start, h)
                    h = h + out
            codes = choose(start, self.head(F.relu(h)).flatten(2)).view_as(guess)
            if torch.equal(codes, guess):
                break
            guess = codes
        if self.p_first is not None:  # later steps' past stacks read this step's codes
            self.p_first.write_steps(cache, e, self.grid, start=t)
        for name, keys_values in attended.items():  # the round that reached the fixed point read the final codes
            self.attention[name].write_plane(cache, start, keys_values)
        return guess

    def _write(self, cache: dict, index: int, codes: torch.Tensor) -> None:
        pos = _unravel(index, self.grid)
        e = self.embed(codes)
        for conv in (self.p_first, self.v_first, self.h_first):
            if conv is not None:
                conv.write(cache, pos, e)

    def _autoregress(self, *args, **kwargs) -> torch.Tensor:
        """Every step of ``_steps``: the codes (B, T, H, W)."""
        return _last(self._steps(*args, **kwargs))

    def _steps(self, batch: int, cond, choose: Callable[[int, torch.Tensor], torch.Tensor], cached: bool,
               prefix: torch.Tensor | None = None, whole_steps: bool | None = None):
        """A generator that yields the codes (B, T, H, W) after each step after the prefix; a step reads
        ``cond[:, :, t]`` only once it starts, so between steps a caller may set it (``sample_steps``).
        It visits every position in raster order; ``choose(index, logits)`` returns the codes (B, N) of the N
        positions from flat ``index`` on, given their logits (B, K, N), and must depend on nothing else. The
        codes of ``prefix`` (B, Tp, H, W), the first Tp steps, are given and not visited; the cached sampler fills
        its buffers for them in one forward pass (``_prefill``). With ``whole_steps`` (default: ``solve_steps``)
        the cached sampler solves a step at a time (``_solve_step``): the same codes, for fewer network calls."""
        codes = torch.zeros(batch, *self.grid, dtype=torch.long, device=self.head.weight.device)
        plane = self.grid[1] * self.grid[2]
        flat = codes.view(batch, -1)
        known = 0
        if prefix is not None:
            if prefix.shape[0] != batch or tuple(prefix.shape[2:]) != self.grid[1:] or prefix.shape[1] >= self.grid[0]:
                raise ValueError(f"prefix has shape {tuple(prefix.shape)}; expected ({batch}, Tp, "
                                 f"{self.grid[1]}, {self.grid[2]}) with Tp below {self.grid[0]} steps")
            known = prefix[0].numel()
            flat[:, :known] = prefix.flatten(1)
        cache = {"batch": batch}
        if cached and known:
            self._prefill(cache, codes, cond, prefix.shape[1])
        if cached and (self.solve_steps if whole_steps is None else whole_steps):
            for t in range(known // plane, self.grid[0]):
                codes[:, t] = self._solve_step(cache, t, cond, choose, codes[:, t - 1] if t else codes[:, 0])
                yield codes
            return
        for index in range(known, flat.shape[1]):
            logits = self._step(cache, index, cond) if cached else self(codes, cond).flatten(2)[:, :, index]
            flat[:, index] = choose(index, logits.unsqueeze(-1)).squeeze(-1)
            if cached:
                self._write(cache, index, flat[:, index])
            if (index + 1) % plane == 0:
                yield codes

    @torch.no_grad()
    def sample(self, batch: int, cond: torch.Tensor | None = None, generator: torch.Generator | None = None,
               temperature: float = 1.0, cached: bool = True, progress=None, prefix: torch.Tensor | None = None,
               greedy: bool = False) -> torch.Tensor:
        """Codes (B, T, H, W) drawn position by position. ``cached`` selects fast incremental sampling; both
        samplers draw one uniform number per position up front, so they agree for the same ``generator``.
        ``prefix`` (B, Tp, H, W): the codes of the first Tp steps, given (a context), not drawn. ``greedy``: the most
        likely code at each position (arg-max decoding) instead of a draw."""
        return _last(self.sample_steps(batch, cond, generator, temperature, cached, progress, prefix, greedy))

    @torch.no_grad()
    def sample_steps(self, batch: int, cond: torch.Tensor | None = None, generator: torch.Generator | None = None,
                     temperature: float = 1.0, cached: bool = True, progress=None,
                     prefix: torch.Tensor | None = None, greedy: bool = False):
        """``sample`` one step at a time: a generator that yields the codes (B, T, H, W) after each drawn step.
        Step t reads ``cond[:, :, t]`` when it starts, so a caller may fill it in place between steps from what
        was drawn so far (several priors drawn step by step, each conditioned on the others). The uniform
        numbers are drawn from ``generator`` at the first step."""
        device = self.head.weight.device
        uniform = torch.rand(batch, math.prod(self.grid), generator=generator,
                             device=generator.device if generator is not None else "cpu").to(device)

        def choose(index, logits):
            if progress is not None:
                progress(index)
            if greedy:
                return logits.argmax(1)
            return sample_codes(logits.transpose(1, 2), uniform[:, index:index + logits.shape[-1]], temperature)

        yield from self._steps(batch, cond, choose, cached, prefix)

    @torch.no_grad()
    def sequential_log_prob(self, codes: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Sum over positions of log p(code_i | codes before i), one position at a time through the cached path
        (teacher forced): (B,). Equals the one-pass log-likelihood of ``forward``."""
        flat = codes.flatten(1)
        total = torch.zeros(codes.shape[0], dtype=torch.float64, device=codes.device)

        def choose(index, logits):
            nonlocal total
            given = flat[:, index:index + 1]
            total = total + torch.log_softmax(logits[:, :, 0].double(), -1).gather(1, given).squeeze(1)
            return given

        self._autoregress(codes.shape[0], cond, choose, cached=True, whole_steps=False)
        return total


def _last(steps):
    """Run a step-by-step sampler to its end: its last yield, the whole grid of codes."""
    return deque(steps, maxlen=1).pop()


def _unravel(index: int, grid: tuple[int, int, int]) -> tuple[int, int, int]:
    t, rest = divmod(index, grid[1] * grid[2])
    return (t, *divmod(rest, grid[2]))
