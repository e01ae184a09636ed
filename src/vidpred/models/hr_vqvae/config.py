"""S-HR-VQVAE's configs (Adiban et al. 2023): the whole pipeline's (``SHRVQVAEConfig``) and its prior's; the
tokenizer's own is in ``tokenizer.py``. A module of their own so that ``prior.py`` and ``predictor.py`` both
read them without importing each other."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vidpred.models.hr_vqvae.tokenizer import HRVQVAEConfig
from vidpred.models.tokenizer import TokenizedConfig


@dataclass
class STPixelCNNConfig:
    hidden: int = 64
    layers: int = 6
    kernel: int = 3  # spatial filter size
    time_kernel: int = 3  # the past stack's extent in time
    attention_every: int = 2  # §4.2's attention over 3D voxels after every 2nd gated layer; 0: none
    heads: int = 4
    factorised_position: bool = True  # the attention's position embedding per frame, row and column (prior.py)
    dropout: float = 0.0
    condition_on_coarser: bool = False  # Eq. 6: False
    history: Literal["own", "all"] = "own"  # Eq. 6: "own" (each layer's own codes of the earlier frames)
    embed: int = 16  # width of the coarser layers' path embedding
    loss_on_context: bool = False  # Eq. 7: False (predicted frames only); see prior.py's docstring


@dataclass
class SHRVQVAEConfig(TokenizedConfig):
    name: str = "s_hr_vqvae"
    context_frames: int = 10  # §5.2: 10 -> 10 (Moving MNIST), 10 -> 20 (KTH)
    decoding: Literal["argmax", "sample"] = "argmax"
    training: Literal["disjoint", "joint"] = "disjoint"
    joint_weight: float = 0.11  # lambda of Eq. 9 (§5.2)
    joint_path: Literal["rollout", "teacher_forced"] = "rollout"  # predictor.py's docstring
    tokenizer: HRVQVAEConfig = field(default_factory=HRVQVAEConfig)
    prior: STPixelCNNConfig = field(default_factory=STPixelCNNConfig)

    def validate(self) -> None:
        if not 0 < self.context_frames < self.tokenizer.num_frames:
            raise ValueError(f"context_frames ({self.context_frames}) must be positive and below the tokenizer's "
                             f"num_frames ({self.tokenizer.num_frames})")
