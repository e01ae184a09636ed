"""Recurrent building blocks shared by the models: the convolutional LSTM (Shi et al. 2015) and SVG's LSTMs."""
from __future__ import annotations

import math

import torch
from torch import nn

from vidpred.nn.blocks import norm_groups as norm_groups_of
from vidpred.nn.distributions import DiagonalGaussian


class ConvLSTMCell(nn.Module):
    """One ConvLSTM layer: the four gates are a convolution of [input, hidden] (Shi et al. 2015, Eq. 3).

    ``peephole`` adds Shi et al.'s Hadamard peephole terms W_c * c on the input, forget and output gates
    (a weight per channel and position, so it needs the grid size); off by default, as in the PredRNN-lineage
    re-implementations whose numbers the Moving MNIST tables report.

    ``norm_groups`` > 0 normalises it as the improved VRNN's code release does (``layers.NormConvLSTMCell``, a
    layer-normalised LSTM for feature maps): the input's and the hidden state's gate convolutions each
    group-normalised before they are summed, and the new cell state normalised -- and kept so, as the next step's
    cell -- before its tanh; in up to ``norm_groups`` groups of at least 2 channels (1 on a 1x1 map, where a group
    needs channels). ``legacy_norm``: one convolution over [input, hidden] with one GroupNorm and the cell
    normalised only for the output, in gcd(norm_groups, channels) groups (vidpred before [fidelity 12]); kept so
    that models trained with it still load.
    """

    def __init__(self, in_channels: int, hidden: int, kernel_size: int, peephole_size: tuple[int, int] | None = None,
                 norm_groups: int = 0, legacy_norm: bool = False):
        super().__init__()
        self.hidden = hidden
        padding = kernel_size // 2
        self.separate = bool(norm_groups) and not legacy_norm
        if self.separate:
            self.input_gates = nn.Sequential(nn.Conv2d(in_channels, 4 * hidden, kernel_size, padding=padding),
                                             nn.GroupNorm(norm_groups_of(4 * hidden, norm_groups), 4 * hidden))
            self.hidden_gates = nn.Sequential(nn.Conv2d(hidden, 4 * hidden, kernel_size, padding=padding),
                                              nn.GroupNorm(norm_groups_of(4 * hidden, norm_groups), 4 * hidden))
            self.cell_norm = nn.GroupNorm(norm_groups_of(hidden, norm_groups), hidden)
        else:
            self.gates = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel_size, padding=padding)
            legacy = lambda c: nn.GroupNorm(math.gcd(norm_groups, c), c) if norm_groups else nn.Identity()  # noqa: E731
            self.gate_norm, self.cell_norm = legacy(4 * hidden), legacy(hidden)
        if peephole_size is not None:
            self.peephole = nn.Parameter(torch.zeros(3, hidden, *peephole_size))
        else:
            self.register_parameter("peephole", None)

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = x.shape
        zeros = x.new_zeros(b, self.hidden, h, w)
        return zeros, zeros

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, c = state
        if self.separate:
            gates = self.input_gates(x) + self.hidden_gates(h)
        else:
            gates = self.gate_norm(self.gates(torch.cat([x, h], dim=1)))
        i, f, o, g = gates.chunk(4, dim=1)
        if self.peephole is not None:
            i = i + self.peephole[0] * c
            f = f + self.peephole[1] * c
        i, f, g = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g)
        c = f * c + i * g
        if self.peephole is not None:
            o = o + self.peephole[2] * c
        normed = self.cell_norm(c)
        c = normed if self.separate else c  # the release keeps the normalised cell as the state
        h = torch.sigmoid(o) * torch.tanh(normed)
        return h, (h, c)


class ConvLSTMStack(nn.Module):
    """Stacked ConvLSTM layers; ``step`` advances all layers by one time step."""

    def __init__(self, in_channels: int, hidden: tuple[int, ...], kernel_size: int,
                 peephole_size: tuple[int, int] | None = None):
        super().__init__()
        sizes = (in_channels,) + tuple(hidden)
        self.cells = nn.ModuleList(ConvLSTMCell(a, b, kernel_size, peephole_size) for a, b in zip(sizes, sizes[1:]))

    def initial_state(self, x: torch.Tensor) -> list:
        return [None] * len(self.cells)

    def step(self, x: torch.Tensor, states: list) -> tuple[torch.Tensor, list]:
        new_states = []
        for cell, state in zip(self.cells, states):
            x, state = cell(x, state if state is not None else cell.initial_state(x))
            new_states.append(state)
        return x, new_states


class LSTMStack(nn.Module):
    """SVG's recurrent networks (Denton & Fergus 2018, §4.1): a linear embedding of the input to ``hidden`` units,
    ``layers`` LSTM cells of ``hidden`` units, and a fully connected output layer. ``step`` advances one time step
    from ``state`` (None: zeros) and returns the output and the new state, so a caller can run the networks step by
    step and feed generated frames back. ``gaussian=True`` outputs a ``DiagonalGaussian`` (mean and log-variance
    heads: the posterior and learned prior); otherwise the output passes through ``tanh`` (the frame predictor,
    whose output goes to the frame decoder)."""

    def __init__(self, inputs: int, outputs: int, hidden: int, layers: int, gaussian: bool = False):
        super().__init__()
        self.embed = nn.Linear(inputs, hidden)
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden) for _ in range(layers))
        self.gaussian = gaussian
        self.out = nn.Linear(hidden, 2 * outputs if gaussian else outputs)

    def step(self, x: torch.Tensor, state: list | None):
        h, new_state = self.embed(x), []
        for i, cell in enumerate(self.cells):
            h, c = cell(h, None if state is None else state[i])
            new_state.append((h, c))
        out = self.out(h)
        if self.gaussian:
            return DiagonalGaussian.from_params(out, dim=-1), new_state
        return torch.tanh(out), new_state
