"""Any folder tree of videos: files (.mp4 .avi .mov .mkv .webm .gif ...) and folders of numbered frames.

For Kinetics-600, Cityscapes sequences or a user's own clips. Frames are centre-cropped to a square and
resized (``crop=none`` stretches instead). The train/test split is deterministic and needs no list: a
video is in the test split when the SHA-1 of its path relative to ``root`` falls below ``test_fraction``,
so adding files never moves existing ones between splits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vidpred.data.base import (
    DataError,
    FileDataConfig,
    VideoEntry,
    file_dataset_spec,
    find_files,
    require_root,
    unit_hash,
)
from vidpred.io.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

LAYOUT = ("a folder tree of video files (" + " ".join(VIDEO_EXTENSIONS) + ") or folders of numbered frames ("
          + " ".join(IMAGE_EXTENSIONS) + ")")


@dataclass
class VideoFolderConfig(FileDataConfig):
    name: str = "video_folder"
    num_frames: int = 16
    channels: Literal[1, 3] = 3
    test_fraction: float = 0.1

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.test_fraction <= 1.0:
            raise ValueError(f"test_fraction must be in [0, 1], got {self.test_fraction}")


def hash_split(relative_path: str, test_fraction: float) -> str:
    return "test" if unit_hash(relative_path) < test_fraction else "train"


def scan(cfg: VideoFolderConfig) -> list[VideoEntry]:
    root = require_root(cfg, LAYOUT)
    videos = find_files(root, VIDEO_EXTENSIONS)
    frame_folders = sorted({p.parent for p in find_files(root, IMAGE_EXTENSIONS)})
    entries = [VideoEntry(rel, str(path), hash_split(rel, cfg.test_fraction))
               for path in videos + frame_folders for rel in [path.relative_to(root).as_posix()]]
    if not entries:
        raise DataError(f"no videos under {root}; expected {LAYOUT}")
    return sorted(entries, key=lambda e: e.id)


SPEC = file_dataset_spec(
    "video_folder", VideoFolderConfig, scan,
    "any folder of videos or frame folders (Kinetics-like); split by path hash")
