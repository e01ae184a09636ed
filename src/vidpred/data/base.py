"""The clip contract shared by every data set, and the machinery file-based data sets share.

Every data set yields clips as float32 ``(T, C, H, W)`` in [0, 1]. A *source* holds whole videos
(``videos``: list of :class:`VideoRecord`, ``read(i, frame_ids) -> uint8 (T, C, H, W)``): either a prepared
:class:`~vidpred.data.cache.FrameStore` or a :class:`DecodedSource` that decodes files on the fly.
:class:`ClipDataset` cuts a source's videos of one split into clips of ``num_frames`` frames taken every
``frame_stride`` frames, a new clip starting every ``clip_step`` frames.
"""
from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F

from vidpred.data.cache import FrameStore, StoreWriter, VideoRecord
from vidpred.data.errors import DataError
from vidpred.io.outputs import count
from vidpred.io.video import VideoReadError, probe_num_frames, read_video
from vidpred.progress import track

SPLITS = ("train", "test")  # what a data set's files or generator define
# Held-out training data for choosing settings (``vidpred tune``), never the test set: generated data sets draw it
# from a stream no training run reads; file data sets set aside ``validation_fraction`` of their training videos.
VALIDATION = "validation"


@dataclass
class DataConfig:
    """Fields every data set has. Data set configs subclass this and set their own defaults."""
    name: str = ""
    num_frames: int = 20
    frame_stride: int = 1
    clip_step: int | None = None  # frames between clip starts; None: num_frames * frame_stride (no overlap)
    image_size: int = 64
    channels: Literal[1, 3] = 1
    cache: str | None = None  # a store written by `vidpred data prepare`; read instead of decoding

    # Fields that only decide how stored videos are cut into clips, not what a store holds.
    NOT_STORED: ClassVar[tuple[str, ...]] = ("cache", "num_frames", "frame_stride", "clip_step")

    def validate(self) -> None:
        for field in ("num_frames", "frame_stride", "image_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be at least 1, got {getattr(self, field)}")
        if self.clip_step is not None and self.clip_step < 1:
            raise ValueError(f"clip_step must be at least 1, got {self.clip_step}")

    @property
    def span(self) -> int:
        """Frames of source video one clip covers."""
        return (self.num_frames - 1) * self.frame_stride + 1

    def content_dict(self) -> dict:
        """The fields that decide what a prepared store holds (its provenance, and the automatic cache's key)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in self.NOT_STORED}


@dataclass
class FileDataConfig(DataConfig):
    """Fields of data sets read from files."""
    # a moved data set is the same; the validation split is cut from the stored training videos when read
    NOT_STORED: ClassVar[tuple[str, ...]] = DataConfig.NOT_STORED + ("root", "validation_fraction")
    root: str | None = None
    crop: Literal["center", "none"] = "center"  # central square before resizing, or stretch the whole frame
    # the share of the training videos set aside as the validation split (picked by a hash of each video's id, the
    # same on every machine); training never reads them. 0: no validation split
    validation_fraction: float = 0.0

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), not {self.validation_fraction}")


@dataclass
class DatasetSpec:
    """A registered data set: its config class, how to build a split, and how to prepare a store."""
    name: str
    config_cls: type
    description: str
    build: Callable[[Any, str], torch.utils.data.Dataset]
    prepare: Callable[[Any, Path], dict]
    needs_root: bool = False


def check_split(split: str) -> str:
    if split not in (*SPLITS, VALIDATION):
        raise ValueError(f"split {split!r} is not one of {', '.join((*SPLITS, VALIDATION))}")
    return split


def unit_hash(text: str) -> float:
    """A number in [0, 1) fixed by ``text`` on every machine (Python's own hash is salted per process)."""
    import hashlib

    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 2**32


def held_out(video_id: str, fraction: float) -> bool:
    """Whether a training video belongs to the validation split, by its file: the pieces of one recording
    (``FILE#k``, KTH's sequences) go together, so none of a held-out recording is trained on. The hash is salted, so
    that it does not repeat a split already drawn by hashing the same id (``video_folder``'s test split)."""
    return unit_hash(f"{VALIDATION}:{video_id.split('#')[0]}") < fraction


def transform_frames(frames: np.ndarray, image_size: int, channels: int, crop: str = "center") -> np.ndarray:
    """uint8 ``(T, 3, H, W)`` -> uint8 ``(T, channels, image_size, image_size)``.

    ``crop="center"`` takes the central square before resizing (aspect kept); ``crop="none"`` stretches the
    whole frame to a square. Resizing is bilinear with antialiasing; grey is ITU-R BT.601 luma.
    """
    video = torch.from_numpy(np.ascontiguousarray(frames)).float()  # (T, 3, H, W)
    if crop == "center":
        h, w = video.shape[-2:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        video = video[..., top:top + side, left:left + side]
    elif crop != "none":
        raise ValueError(f"crop must be 'center' or 'none', got {crop!r}")
    if tuple(video.shape[-2:]) != (image_size, image_size):
        video = F.interpolate(video, size=(image_size, image_size), mode="bilinear", antialias=True,
                              align_corners=False)
    if channels == 1 and video.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        video = (video * weights).sum(dim=1, keepdim=True)
    elif channels == 3 and video.shape[1] == 1:
        video = video.expand(-1, 3, -1, -1)
    return video.round_().clamp_(0, 255).to(torch.uint8).numpy()


class ClipDataset(torch.utils.data.Dataset):
    """Fixed-length clips cut from the videos of one split of a source. With ``validation_fraction`` that share of
    the training videos (``held_out``) forms the validation split and leaves the training split."""

    def __init__(self, source, split: str, num_frames: int, frame_stride: int = 1, clip_step: int | None = None,
                 validation_fraction: float = 0.0):
        self.source, self.split = source, check_split(split)
        self.num_frames, self.frame_stride = num_frames, frame_stride
        self.validation_fraction = validation_fraction
        span = (num_frames - 1) * frame_stride + 1
        step = clip_step or num_frames * frame_stride
        self.clips: list[tuple[int, int]] = [
            (i, start)
            for i, video in enumerate(source.videos) if self.split_of(video) == split
            for start in range(0, video.length - span + 1, step)
        ]

    def split_of(self, video) -> str:
        """The split a source's video belongs to here: its own, or validation when it is held out of training."""
        if video.split == "train" and self.validation_fraction and held_out(video.id, self.validation_fraction):
            return VALIDATION
        return video.split

    def __len__(self) -> int:
        return len(self.clips)

    def frames(self, index: int) -> np.ndarray:
        """uint8 ``(T, C, H, W)`` of clip ``index``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"clip {index} is out of range; the {self.split} split has {len(self)} clips")
        video, start = self.clips[index]
        return self.source.read(video, start + self.frame_stride * np.arange(self.num_frames))

    def clip_id(self, index: int) -> str:
        video, start = self.clips[index]
        return f"{self.source.videos[video].id}@{start}"

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(self.frames(index)).float().div_(255.0)


def intensity_stats(dataset, clips: int = 128) -> dict:
    """How bright a data set's clips are: the mean pixel value (in [0, 1]) over ``clips`` clips spread evenly over
    ``dataset``, and the range of the clips' own means. A model's run records it (``data_stats`` in its config),
    so a prediction on input unlike the training data can say so."""
    if len(dataset) == 0:
        raise ValueError("an empty data set has no intensity")
    picks = np.linspace(0, len(dataset) - 1, min(clips, len(dataset))).round().astype(int)
    means = np.array([float(dataset[int(i)].mean()) for i in picks])
    return {"mean_intensity": round(float(means.mean()), 4),
            "clip_mean_range": [round(float(means.min()), 4), round(float(means.max()), 4)],
            "clips_measured": len(picks)}


# An input whose mean intensity lies further than this outside the range of the training clips' means (in [0, 1])
# "looks nothing like" the training data: Moving MNIST clips average 0.03-0.08, natural video 0.3-0.6.
INTENSITY_MARGIN = 0.1


def unlike_training_data(fitted: torch.Tensor, grey: bool, trained_on: dict, what: str = "this input") -> str | None:
    """One line saying what the model was trained on, when ``fitted`` (``what``: the input, fitted to the model)
    differs from it in channels or in mean intensity (see ``INTENSITY_MARGIN``); None when it looks alike."""
    other_channels = trained_on.get("channels") is not None and grey != (trained_on["channels"] == 1)
    mean = float(fitted.mean())
    low, high = trained_on.get("clip_mean_range", (-1.0, 2.0))
    far = not low - INTENSITY_MARGIN <= mean <= high + INTENSITY_MARGIN
    if not (other_channels or far):
        return None
    kind = {1: "grey", 3: "colour"}.get(trained_on.get("channels"), "")
    trained = ", ".join(([f"{kind} frames"] if kind else []) + ([f"mean intensity {trained_on['mean_intensity']:.2f}"]
                                                               if "mean_intensity" in trained_on else []))
    line = (f"the model was trained on {trained_on['name']}{f' ({trained})' if trained else ''}; {what} is "
            f"{'grey' if grey else 'colour'}{' (converted for the model)' if other_channels else ''}, mean intensity "
            f"{mean:.2f}")
    return line + (": expect a prediction that looks nothing like it" if far else "")


def empty_split(cfg, split: str, videos: int) -> str:
    """Why the ``split`` of a data set holds no video, and what to change, in one sentence."""
    if split == VALIDATION:
        return (f"the validation split of {cfg.name} holds none of its {count(videos, 'video')}: "
                f"validation_fraction={cfg.validation_fraction:g} holds out too few training videos; give a larger one")
    fraction = getattr(cfg, "test_fraction", None)
    if fraction is None:
        return f"the {split} split of {cfg.name} holds none of its {count(videos, 'video')}"
    return (f"the {split} split of {cfg.name} holds none of its {count(videos, 'video')}: test_fraction={fraction:g} "
            f"sends about {fraction:.0%} of the videos to test; give a {'larger' if split == 'test' else 'smaller'} "
            f"one (e.g. test_fraction=0.5)")


def check_not_empty(dataset, cfg, split: str) -> None:
    """One sentence when the ``split`` of a data set has no clip: no video went to it (naming the setting that
    decides it), or its videos are all shorter than a clip."""
    if len(dataset) > 0:
        return
    videos = getattr(getattr(dataset, "source", None), "videos", None)
    if videos is not None:
        mine = [v for v in videos if dataset.split_of(v) == split]
        if not mine:
            raise DataError(empty_split(cfg, split, len(videos)))
        raise DataError(f"the {split} split of {cfg.name} has no clip of {cfg.num_frames} frames: its "
                        f"{count(len(mine), 'video')} {'is' if len(mine) == 1 else 'are'} at most "
                        f"{max(v.length for v in mine)} frames long, and a clip spans {cfg.span}")
    raise DataError(f"the {split} split of {cfg.name} has no clip of {cfg.num_frames} frames")


@dataclass
class VideoEntry:
    """A video found by a data set's scan: a file or frame folder, its split and an optional frame range."""
    id: str
    path: str
    split: str
    start: int = 0
    end: int | None = None


def load_entry(entry: VideoEntry, cfg: FileDataConfig, frame_ids=None) -> np.ndarray:
    """Decode ``entry`` (optionally only ``frame_ids``, relative to its start) and transform it to cfg's size."""
    start, end = entry.start, entry.end
    if frame_ids is not None:
        frame_ids = np.asarray(frame_ids)
        start, end = entry.start + int(frame_ids.min()), entry.start + int(frame_ids.max()) + 1
    frames = read_video(entry.path, start=start, end=end, short_side=cfg.image_size)
    if frame_ids is not None:
        relative = frame_ids - frame_ids.min()
        if relative.max() >= len(frames):
            raise VideoReadError(f"{entry.path}: ends after {start + len(frames)} frames, "
                                 f"frame {start + int(relative.max())} was asked for")
        frames = frames[relative]
    return transform_frames(frames, cfg.image_size, cfg.channels, cfg.crop)


FRAME_COUNTS = "frame_counts.json"  # in the cache folder: {path: [size, mtime_ns, frames or the error]}


class FrameCounts:
    """``probe_num_frames`` (frames counted by decoding), remembered per file with its size and modification time in
    ``$VIDPRED_CACHE/frame_counts.json``, so each file is decoded for counting once; an unreadable file's error is
    remembered too and raised again (as ``VideoReadError``) until the file changes. Read once, written once by
    ``save`` after a whole folder was counted."""

    def __init__(self):
        import json

        from vidpred.data.cache import default_cache_root

        self.store = default_cache_root() / FRAME_COUNTS
        try:
            self.counts = json.loads(self.store.read_text()) if self.store.is_file() else {}
        except (OSError, ValueError):
            self.counts = {}  # a damaged record is rebuilt
        self.changed = False

    def __call__(self, path: str | Path) -> int:
        path = Path(path).absolute()
        if not path.is_file():
            return probe_num_frames(path)  # a frame folder is counted by listing it; a missing file says so
        stat = path.stat()
        key, stamp = str(path), [stat.st_size, stat.st_mtime_ns]
        if key not in self.counts or self.counts[key][:2] != stamp:
            try:
                found = probe_num_frames(path)
            except VideoReadError as err:
                found = str(err)
            self.counts[key], self.changed = [*stamp, found], True
        found = self.counts[key][2]
        if isinstance(found, str):
            raise VideoReadError(found)
        return found

    def save(self) -> None:
        import json

        from vidpred.config import atomic_write_text

        if self.changed:
            try:
                atomic_write_text(self.store, json.dumps(self.counts))
            except OSError:
                pass  # an unwritable cache costs a recount next time, nothing else
            self.changed = False


class DecodedSource:
    """Videos decoded from their files at every read (no cache). Frames are counted by decoding (once per file,
    ``FrameCounts``); unreadable files and videos shorter than one clip are skipped, listed in ``skipped`` and
    on stderr, and the rest is used."""

    def __init__(self, entries: list[VideoEntry], cfg: FileDataConfig):
        self.cfg = cfg
        self.entries: list[VideoEntry] = []
        self.videos: list[VideoRecord] = []
        self.skipped: list[dict] = []
        counts = FrameCounts()
        for entry in track(entries, f"counting the frames of {cfg.name}") if len(entries) > 20 else entries:
            try:
                total = counts(entry.path)
            except VideoReadError as err:
                self.skipped.append({"source": entry.path, "reason": str(err).removeprefix(f"{entry.path}: ")})
                continue
            end = total if entry.end is None else min(entry.end, total)
            if end - entry.start < cfg.span:
                self.skipped.append({"source": entry.path, "reason": f"{count(max(end - entry.start, 0), 'frame')}, "
                                                                     f"shorter than one clip ({cfg.span})"})
                continue
            self.entries.append(entry)
            self.videos.append(VideoRecord(entry.id, entry.split, end - entry.start))
        counts.save()
        if self.skipped:
            listed = "; ".join(f"{s['source']} ({s['reason']})" for s in self.skipped[:5])
            more = f"; and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            print(f"vidpred: skipped {len(self.skipped)} of {len(entries)} videos of {cfg.name}: {listed}{more}",
                  file=sys.stderr)

    def read(self, video: int, frame_ids) -> np.ndarray:
        return load_entry(self.entries[video], self.cfg, frame_ids)


def open_store(cfg: DataConfig) -> FrameStore:
    store = FrameStore(cfg.cache)
    if store.dataset != cfg.name:
        raise DataError(f"{cfg.cache} holds data set {store.dataset!r}, not {cfg.name!r}")
    stored, wanted = store.index["config"], cfg.content_dict()
    differ = sorted(k for k in wanted if stored.get(k) != wanted[k])
    if differ:
        raise DataError(f"{cfg.cache} was prepared with " + ", ".join(f"{k}={stored.get(k)!r}" for k in differ)
                        + "; the config asks for " + ", ".join(f"{k}={wanted[k]!r}" for k in differ)
                        + ": prepare it again with this config, or change the config")
    return store


Scan = Callable[[FileDataConfig], list[VideoEntry]]


def build_file_dataset(cfg: FileDataConfig, split: str, scan: Scan) -> ClipDataset:
    """A split of a file-based data set: from the prepared store if ``cfg.cache`` is set, else decoded on the fly."""
    check_split(split)  # before the scan, which may take a while
    if split == VALIDATION and not cfg.validation_fraction:
        raise DataError(f"{cfg.name} has no validation split: set data.validation_fraction (e.g. 0.1) to hold out "
                        "that share of its training videos")
    source = open_store(cfg) if cfg.cache else DecodedSource(scan(cfg), cfg)
    return ClipDataset(source, split, cfg.num_frames, cfg.frame_stride, cfg.clip_step, cfg.validation_fraction)


def prepare_files(cfg: FileDataConfig, out: Path, scan: Scan) -> dict:
    """Decode every video that ``scan`` finds once, at cfg's size, into a store at ``out``.

    Unreadable, truncated, empty or too-short videos are skipped and listed in the index; if none is usable
    the prepare fails.
    """
    entries = scan(cfg)
    writer = StoreWriter(out, cfg.name, cfg.content_dict())
    for entry in track(entries, f"preparing {cfg.name}"):
        try:
            frames = load_entry(entry, cfg)
        except VideoReadError as err:
            writer.skip(entry.path, str(err).removeprefix(f"{entry.path}: "))  # the path is listed once
            continue
        if len(frames) < cfg.span:
            writer.skip(entry.path, f"{count(len(frames), 'frame')}, shorter than one clip ({cfg.span})")
            continue
        writer.add(entry.id, entry.split, frames)
    if not writer.videos:
        reasons = "; ".join(f"{s['source']}: {s['reason']}" for s in writer.skipped[:3])
        raise DataError(f"no usable video among the {len(entries)} found for {cfg.name} ({reasons})")
    return writer.close()


def file_dataset_spec(name: str, config_cls: type, scan: Scan, description: str,
                      needs_root: bool = True) -> DatasetSpec:
    """The spec of a data set read from files that ``scan`` finds."""
    return DatasetSpec(name=name, config_cls=config_cls, description=description, needs_root=needs_root,
                       build=lambda cfg, split: build_file_dataset(cfg, split, scan),
                       prepare=lambda cfg, out: prepare_files(cfg, Path(out), scan))


def find_files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under ``root`` (recursively) with one of ``suffixes``, in sorted order."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())


def require_root(cfg, layout: str) -> Path:
    """``cfg.root`` as a Path; fails with the expected layout when it is unset or missing."""
    if not cfg.root:
        raise DataError(f"{cfg.name} needs root= pointing at its files, laid out as {layout}")
    root = Path(cfg.root).expanduser()
    if not root.is_dir():
        raise DataError(f"{cfg.name} root {root} is not a folder; expected the layout {layout}")
    return root
