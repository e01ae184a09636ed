"""BAIR robot pushing (Ebert et al. 2017), from the common PNG export: ``{root}/{train,test}/.../{traj}/{t}.png``.

Each folder of numbered PNGs is one trajectory (30 frames of 64x64 RGB); intermediate folders (such as
``traj_0_to_255``) are allowed. The export's own train/test split is kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vidpred.data.base import SPLITS, DataError, FileDataConfig, VideoEntry, file_dataset_spec, require_root

LAYOUT = "{root}/{train,test}/{trajectory}/{t}.png (numbered PNG frames, one folder per trajectory)"


@dataclass
class BAIRConfig(FileDataConfig):
    name: str = "bair"
    num_frames: int = 30
    channels: Literal[1, 3] = 3
    crop: Literal["center", "none"] = "none"


def scan(cfg: BAIRConfig) -> list[VideoEntry]:
    root = require_root(cfg, LAYOUT)
    entries = []
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            continue
        trajectories = sorted({p.parent for p in folder.rglob("*.png") if p.stem.isdigit()})
        entries += [VideoEntry(str(t.relative_to(root)), str(t), split) for t in trajectories]
    if not entries:
        raise DataError(f"no BAIR trajectories under {root}; expected the layout {LAYOUT}")
    return entries


SPEC = file_dataset_spec(
    "bair", BAIRConfig, scan, "BAIR robot pushing, PNG export {train,test}/{traj}/{t}.png, 64x64 RGB, 30 frames")
