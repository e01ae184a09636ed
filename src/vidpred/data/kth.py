"""KTH human actions (Schuldt et al. 2004): 6 actions by 25 subjects in 4 scenarios, 160x120 grey, 25 fps.

Layout read: ``{root}/{action}/person{NN}_{action}_d{K}_uncomp.avi`` as distributed. Subjects 1-16 train,
17-25 test (the split of PredRNN and S-HR-VQVAE). When KTH's ``00sequences.txt`` is under ``root`` (and
``use_sequences_file``), each video is cut into the frame ranges it lists (1-based, inclusive), each range a
separate video; otherwise whole files are used. Frames are resized to ``image_size`` (64 as SVG, 128 as
S-HR-VQVAE) by stretching the whole 4:3 frame (``crop=none``, as PredRNN's loader does).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vidpred.data.base import DataError, FileDataConfig, VideoEntry, file_dataset_spec, require_root

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
FILE_PATTERN = re.compile(r"^person(\d{2})_([a-z]+)_d(\d)_uncomp\.avi$")
LAYOUT = "{root}/{action}/person{NN}_{action}_d{K}_uncomp.avi with actions " + ", ".join(ACTIONS)
TRAIN_SUBJECTS = range(1, 17)  # 1-16 train, 17-25 test


@dataclass
class KTHConfig(FileDataConfig):
    name: str = "kth"
    num_frames: int = 20
    crop: Literal["center", "none"] = "none"
    use_sequences_file: bool = True


def parse_sequences_file(path: Path) -> dict[str, list[tuple[int, int]]]:
    """``00sequences.txt`` -> {'person01_boxing_d1': [(start, end), ...]} as 0-based half-open ranges."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    for line in path.read_text(errors="replace").splitlines():
        match = re.match(r"^\s*(person\d+_[a-z]+_d\d)\s+frames\s+(.+)$", line)
        if not match:
            continue
        spans = [(int(a) - 1, int(b)) for a, b in re.findall(r"(\d+)\s*-\s*(\d+)", match.group(2))]
        ranges[match.group(1)] = [(a, b) for a, b in spans if b > a >= 0]
    return ranges


def subject_split(subject: int) -> str:
    return "train" if subject in TRAIN_SUBJECTS else "test"


def scan(cfg: KTHConfig) -> list[VideoEntry]:
    root = require_root(cfg, LAYOUT)
    files = sorted(p for action in ACTIONS if (root / action).is_dir()
                   for p in (root / action).iterdir() if FILE_PATTERN.match(p.name))
    if not files:
        raise DataError(f"no KTH videos under {root}; expected the layout {LAYOUT}")
    sequences_file = next(iter(sorted(root.rglob("00sequences.txt"))), None) if cfg.use_sequences_file else None
    sequences = parse_sequences_file(sequences_file) if sequences_file else {}
    entries = []
    for path in files:
        subject, action, _ = FILE_PATTERN.match(path.name).groups()
        if action != path.parent.name:
            raise DataError(f"{path}: action {action!r} in a folder named {path.parent.name!r}; expected {LAYOUT}")
        split = subject_split(int(subject))
        stem = path.name.replace("_uncomp.avi", "")
        spans = sequences.get(stem)
        if spans:
            entries += [VideoEntry(f"{stem}#{k}", str(path), split, a, b) for k, (a, b) in enumerate(spans)]
        else:
            entries.append(VideoEntry(stem, str(path), split))
    return entries


SPEC = file_dataset_spec(
    "kth", KTHConfig, scan,
    "KTH actions: {action}/person{NN}_{action}_d{K}_uncomp.avi, grey, subjects 1-16 train / 17-25 test")
