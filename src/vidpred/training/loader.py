"""A training loader whose batches are a pure function of (seed, position), so training resumes exactly.

Batch ``p`` of rank ``r`` (of ``world``) holds global sample numbers ``g = (p * world + r) * B + j``. A data set
that can generate any number of fresh samples (``unbounded = True``, e.g. Moving MNIST) receives ``g`` itself,
offset by the seed; any other data set is read in a fresh permutation per pass (seeded by ``(seed, pass)``), so
ranks see disjoint clips. Nothing here draws from the global random state, and the loader starts at any
position: after a restart it is told how many batches were already trained on.
"""
from __future__ import annotations

import numpy as np
import torch

SEED_STRIDE = 2**40  # unbounded data sets: seed s reads samples s * 2^40 + g


class ResumableLoader:
    def __init__(self, dataset, batch_size: int, num_batches: int, seed: int = 0, rank: int = 0, world: int = 1,
                 num_workers: int = 0, shuffle: bool = True, pin_memory: bool = False):
        if not getattr(dataset, "unbounded", False) and len(dataset) < batch_size * world:
            raise ValueError(f"the training split has {len(dataset)} clips, fewer than one batch on every device "
                             f"({batch_size} x {world})")
        self.dataset, self.batch_size, self.num_batches = dataset, batch_size, num_batches
        self.seed, self.rank, self.world = seed, rank, world
        self.num_workers, self.shuffle = num_workers, shuffle
        self.pin_memory = pin_memory
        self.start = 0  # position of the next batch
        self._orders: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        # The whole pass, also after a restart: Lightning restores how many batches of it were done.
        return self.num_batches

    def index(self, g: int):
        if getattr(self.dataset, "unbounded", False):
            return self.seed * SEED_STRIDE + g
        n = len(self.dataset)
        epoch, i = divmod(g, n)
        if not self.shuffle:
            return i
        if epoch not in self._orders:
            self._orders = {epoch: np.random.default_rng([self.seed, epoch]).permutation(n)}
        return int(self._orders[epoch][i])

    def batch_indices(self, position: int) -> list:
        first = (position * self.world + self.rank) * self.batch_size
        return [self.index(first + j) for j in range(self.batch_size)]

    def __iter__(self):
        batches = [self.batch_indices(p) for p in range(self.start, self.num_batches)]
        # A private generator: creating the loader must not consume the global random state (exact resume).
        # pinned host memory where a GPU will take the batches: Lightning then copies them without blocking
        loader = torch.utils.data.DataLoader(self.dataset, batch_sampler=batches, num_workers=self.num_workers,
                                             generator=torch.Generator().manual_seed(self.seed),
                                             persistent_workers=False, pin_memory=self.pin_memory)
        return iter(loader)
