"""The prepared-data cache: videos decoded once into uint8 shards, read back memory-mapped.

A store is a folder::

    index.json          format, data set, its config, frame shape, shards (file, frames, sha256),
                        videos (id, split, shard, start, length), skipped inputs (source, reason)
    shard_00000.npy     uint8 (N, C, H, W): the frames of consecutive videos, concatenated

``index.json`` is written last and atomically, so a folder without it is an unfinished prepare, never a
half-readable store. Shards are plain ``.npy`` arrays (no pickles): ``np.load(..., allow_pickle=False)``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidpred.config import atomic_write_text
from vidpred.data.errors import DataError

FORMAT = "vidpred-frames-v1"
SHARD_BYTES = 256 * 2**20  # shards of about 256 MiB: large reads, few files


def default_cache_root() -> Path:
    """Where automatically built caches go: ``$VIDPRED_CACHE``, else ``~/.cache/vidpred``."""
    return Path(os.environ.get("VIDPRED_CACHE", Path.home() / ".cache" / "vidpred"))


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**22), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class VideoRecord:
    """One video of a store or source: its id, split and number of frames."""
    id: str
    split: str
    length: int


class StoreWriter:
    """Appends videos (uint8 ``(T, C, H, W)``) to shards in a new folder; :meth:`close` writes the index. A store is
    replaced by writing the new one into a temporary folder and moving it into place when it is complete
    (``io.outputs.staged_outputs``), so the old one stays readable until then."""

    def __init__(self, out: str | Path, dataset: str, config: dict):
        self.out = Path(out)
        if (self.out / "index.json").exists():  # a store is never rebuilt in place: see ``staged_outputs``
            raise DataError(f"{self.out} holds a prepared store already; write the new one into a new folder")
        self.out.mkdir(parents=True, exist_ok=True)
        self.dataset, self.config = dataset, config
        self.frame_shape: tuple[int, ...] | None = None
        self.shards: list[dict] = []
        self.videos: list[dict] = []
        self.skipped: list[dict] = []
        self._pending: list[np.ndarray] = []
        self._pending_frames = 0

    def add(self, video_id: str, split: str, frames: np.ndarray) -> None:
        if frames.dtype != np.uint8 or frames.ndim != 4:
            raise ValueError(f"{video_id}: expected uint8 (T, C, H, W) frames, got {frames.dtype} {frames.shape}")
        if self.frame_shape is None:
            self.frame_shape = tuple(frames.shape[1:])
        elif tuple(frames.shape[1:]) != self.frame_shape:
            raise ValueError(f"{video_id}: frames of shape {frames.shape[1:]}, store holds {self.frame_shape}")
        self.videos.append({"id": video_id, "split": split, "shard": len(self.shards),
                            "start": self._pending_frames, "length": int(frames.shape[0])})
        self._pending.append(frames)
        self._pending_frames += frames.shape[0]
        if self._pending_frames * frames[0].nbytes >= SHARD_BYTES:
            self._flush()

    def skip(self, source: str, reason: str) -> None:
        self.skipped.append({"source": source, "reason": reason})

    def _flush(self) -> None:
        if not self._pending:
            return
        name = f"shard_{len(self.shards):05d}.npy"
        tmp = self.out / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            np.lib.format.write_array(fh, np.concatenate(self._pending), allow_pickle=False)
        os.replace(tmp, self.out / name)
        self.shards.append({"file": name, "frames": self._pending_frames, "sha256": sha256_file(self.out / name)})
        self._pending, self._pending_frames = [], 0

    def close(self) -> dict:
        self._flush()
        index = {"format": FORMAT, "dataset": self.dataset, "config": self.config,
                 "frame_shape": list(self.frame_shape or []), "shards": self.shards,
                 "videos": self.videos, "skipped": self.skipped}
        atomic_write_text(self.out / "index.json", json.dumps(index, indent=1))
        return index


class FrameStore:
    """Read side of a store: ``read(i, frame_ids)`` returns uint8 ``(T, C, H, W)`` from memory-mapped shards."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        index_path = self.root / "index.json"
        if not index_path.is_file():
            raise DataError(f"{self.root} is not a prepared data store (no index.json); "
                                    f"create one with `vidpred data prepare NAME --out {self.root}`")
        self.index = json.loads(index_path.read_text())
        if self.index.get("format") != FORMAT:
            raise DataError(f"{index_path}: format {self.index.get('format')!r}, expected {FORMAT!r}")
        self.frame_shape = tuple(self.index["frame_shape"])
        for shard in self.index["shards"]:
            path = self.root / shard["file"]
            data_bytes = shard["frames"] * int(np.prod(self.frame_shape))  # plus a small .npy header
            if not path.is_file() or path.stat().st_size <= data_bytes:
                raise DataError(f"{path}: missing or truncated shard; prepare the store again")
        self.videos = [VideoRecord(v["id"], v["split"], v["length"]) for v in self.index["videos"]]
        self._shards: dict[int, np.ndarray] = {}

    @property
    def dataset(self) -> str:
        return self.index["dataset"]

    def _shard(self, i: int) -> np.ndarray:
        if i not in self._shards:  # opened lazily, so each DataLoader worker maps its own view
            self._shards[i] = np.load(self.root / self.index["shards"][i]["file"], mmap_mode="r", allow_pickle=False)
        return self._shards[i]

    def read(self, video: int, frame_ids: np.ndarray | list[int] | None = None) -> np.ndarray:
        entry = self.index["videos"][video]
        ids = np.arange(entry["length"]) if frame_ids is None else np.asarray(frame_ids)
        return np.array(self._shard(entry["shard"])[entry["start"] + ids])  # copy out of the map

    def verify(self) -> list[str]:
        """Re-hash every shard; return the files whose checksum differs from the index."""
        return [s["file"] for s in self.index["shards"] if sha256_file(self.root / s["file"]) != s["sha256"]]

    def __getstate__(self):  # DataLoader workers re-open the maps instead of pickling them
        state = self.__dict__.copy()
        state["_shards"] = {}
        return state


def read_index(folder: str | Path) -> dict | None:
    """The index of the store in ``folder``, or None when there is none or it is not one (``FrameStore`` says why
    when the store is opened)."""
    try:
        index = json.loads((Path(folder) / "index.json").read_text())
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) and index.get("format") == FORMAT else None


def store_record(folder: Path) -> dict | None:
    """What a prepared store written before stores carried vidpred's output record holds, as that record
    (``io.outputs``): the command, the data set, its entries. None when ``folder`` holds no store."""
    index = read_index(folder)
    if index is None:
        return None
    return {"command": "data prepare", "key": {"data": index.get("dataset")},
            "about": f"a prepared store of {index.get('dataset')}",
            "entries": ["index.json", *(s.get("file") for s in index.get("shards", []) if isinstance(s, dict))]}
