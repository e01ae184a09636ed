"""Reading and writing video.

Layout everywhere: frames are ``(T, C, H, W)``. Readers return uint8 RGB (C = 3); writers take uint8 or
float in [0, 1] with C = 1 or 3. Files are decoded by PyAV (any container/codec its FFmpeg build reads,
GIF included); folders of numbered images are read with imageio.
"""
from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif", ".m4v", ".mpg", ".mpeg")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class VideoReadError(RuntimeError):
    """A video file or frame folder could not be read (missing, unreadable, truncated or empty)."""


def _natural_key(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def list_frame_files(folder: str | Path) -> list[Path]:
    """Image files of a frame folder, in natural order (2.png before 10.png)."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(files, key=lambda p: _natural_key(p.name))


def probe_num_frames(path: str | Path) -> int:
    """Number of frames of a video file or frame folder, counted by decoding every frame: a container's header
    may claim more than it holds (OpenCV's ``tree.avi`` states 444 frames and decodes 68), and a truncated file
    stops early. Cheap callers cache the count (``data/base.py`` ``counted_frames``)."""
    path = Path(path)
    if path.is_dir():
        return len(list_frame_files(path))
    if path.suffix.lower() == ".gif":
        return len(_read_gif(path))
    frames = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for _ in container.decode(stream):
                frames += 1
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as err:
        if not frames:
            raise VideoReadError(f"{path}: cannot read video ({err})") from err
        # a damaged tail: the frames before it decode and are what the file holds
    if not frames:
        raise VideoReadError(f"{path}: no frame decodes")
    return frames


def video_info(path: str | Path) -> tuple[float | None, int, int]:
    """A video file's frames per second as its container states it (None: not stated) and its frame width and
    height, from the header (nothing decoded)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path}: no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate
            return (float(rate) if rate else None), stream.codec_context.width, stream.codec_context.height
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise VideoReadError(f"{path}: cannot read video ({err})") from err


def read_video(path: str | Path, start: int = 0, end: int | None = None,
               short_side: int | None = None) -> np.ndarray:
    """Decode frames ``start:end`` of a video file or frame folder to uint8 ``(T, 3, H, W)``.

    ``short_side`` asks the decoder to scale each frame so its shorter side has that many pixels
    (aspect ratio kept); scaling inside FFmpeg is far cheaper than decoding at full size and resizing after.
    A file that cannot be decoded, or yields no frame in the range, raises :class:`VideoReadError`.
    """
    path = Path(path)
    if not path.exists():
        raise VideoReadError(f"{path}: no such file or folder")
    if path.is_dir():
        frames = _read_folder(path, start, end)
    elif path.suffix.lower() == ".gif":
        frames = _read_gif(path)[start:end]
    else:
        frames = _read_file(path, start, end, short_side)
    if not frames:
        raise VideoReadError(f"{path}: no frames in range [{start}, {end if end is not None else 'end'})")
    video = np.stack(frames)  # (T, H, W, 3)
    return np.ascontiguousarray(video.transpose(0, 3, 1, 2))  # (T, 3, H, W)


def _scaled_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    if short_side is None or min(width, height) <= short_side:
        return width, height
    scale = short_side / min(width, height)
    return max(short_side, round(width * scale)), max(short_side, round(height * scale))


def _read_file(path: Path, start: int, end: int | None, short_side: int | None) -> list[np.ndarray]:
    frames = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if end is not None and index >= end:
                    break
                if index < start:
                    continue
                width, height = _scaled_size(frame.width, frame.height, short_side)
                frames.append(frame.to_ndarray(format="rgb24", width=width, height=height))
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as err:
        raise VideoReadError(f"{path}: cannot decode video ({err})") from err
    return frames


def _read_gif(path: Path) -> list[np.ndarray]:
    """GIF frames, with runs of identical frames restored.

    GIF writers (Pillow included) merge identical consecutive frames into one frame with a longer
    duration, so each decoded frame is repeated duration / frame period times. The period is read from the
    ``vidpred fps=`` comment our writer stores, else taken as the greatest common divisor of the durations.
    """
    from math import gcd

    from PIL import Image, ImageSequence

    try:
        with Image.open(path) as image:
            comment = image.info.get("comment", b"")
            decoded = [(np.asarray(f.convert("RGB")), int(f.info.get("duration", 0) or 0))
                       for f in ImageSequence.Iterator(image)]
    except (OSError, ValueError, EOFError) as err:
        raise VideoReadError(f"{path}: cannot decode GIF ({err})") from err
    match = re.search(rb"vidpred fps=([0-9.]+)", comment if isinstance(comment, bytes) else comment.encode())
    durations = [d for _, d in decoded if d > 0]
    if match:
        period = _gif_frame_duration(float(match.group(1)))
    else:
        period = 0
        for d in durations:
            period = gcd(period, d)
    frames = []
    for image, duration in decoded:
        repeats = max(1, round(duration / period)) if period and duration else 1
        frames.extend([image] * repeats)
    return frames


def _gif_frame_duration(fps: float) -> int:
    """GIF stores frame durations in units of 10 ms."""
    return max(20, int(round(100.0 / fps)) * 10)


def _read_folder(path: Path, start: int, end: int | None) -> list[np.ndarray]:
    import imageio.v3 as iio

    frames = []
    for file in list_frame_files(path)[start:end]:
        try:
            image = np.asarray(iio.imread(file))
        except (OSError, ValueError) as err:
            raise VideoReadError(f"{file}: cannot read image ({err})") from err
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        frames.append(image[..., :3].astype(np.uint8))
    return frames


def to_uint8_frames(video) -> np.ndarray:
    """``(T, C, H, W)`` float in [0, 1] or uint8, C in {1, 3} -> uint8 ``(T, H, W, 3)`` for writers."""
    if isinstance(video, torch.Tensor):
        video = video.detach().cpu().numpy()
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[1] not in (1, 3):
        raise ValueError(f"video has shape {video.shape}; expected (T, C, H, W) with C = 1 or 3")
    if video.dtype != np.uint8:
        if not np.isfinite(video).all():
            raise ValueError("video contains NaN or infinite values")
        video = np.clip(np.rint(video.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    if video.shape[1] == 1:
        video = np.repeat(video, 3, axis=1)
    return np.ascontiguousarray(video.transpose(0, 2, 3, 1))  # (T, H, W, 3)


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


def write_video(path: str | Path, video, fps: float = 10.0) -> Path:
    """Write ``(T, C, H, W)`` frames as .mp4/.mkv/.mov (H.264), .webm (VP9), .avi (MPEG-4 Part 2) or .gif.
    Atomic."""
    path = Path(path)
    frames = to_uint8_frames(video)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    if suffix == ".gif":
        _write_gif(tmp, frames, fps)
    elif suffix in (".mp4", ".mkv", ".mov", ".avi", ".webm"):
        _write_encoded(tmp, frames, fps)
    else:
        raise ValueError(f"{path}: cannot write {suffix or 'files without a suffix'}; use .mp4, .webm, .avi or .gif")
    os.replace(tmp, path)
    return path


def _write_encoded(path: Path, frames: np.ndarray, fps: float) -> None:
    # yuv420p needs even width and height: pad with edge pixels rather than crop content.
    height, width = frames.shape[1:3]
    pad_h, pad_w = height % 2, width % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    container = {".mkv": "matroska", ".mov": "mov", ".avi": "avi", ".webm": "webm"}.get(path.suffix.lower(), "mp4")
    # mp4: the index at the front, so a browser starts playing before the whole file has arrived
    options = {"movflags": "+faststart"} if container == "mp4" else {}
    with av.open(str(path), mode="w", format=container, container_options=options) as out:
        if container == "avi":  # AVI as KTH ships it: MPEG-4 Part 2, high quality
            stream = out.add_stream("mpeg4", rate=Fraction(fps).limit_denominator(1001), options={"qscale": "2"})
        elif container == "webm":  # VP9 in constant-quality mode (b 0), near lossless like the H.264 below
            stream = out.add_stream("libvpx-vp9", rate=Fraction(fps).limit_denominator(1001),
                                    options={"crf": "15", "b": "0", "deadline": "good", "cpu-used": "4"})
        else:  # crf 17: close to visually lossless, so that small frames stay legible
            stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001), options={"crf": "17"})
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))


def _write_gif(path: Path, frames: np.ndarray, fps: float) -> None:
    from PIL import Image

    # One 256-colour palette for the whole clip, built from up to 8 frames spread over it: colours do not
    # flicker from frame to frame, and mapping to a fixed palette is several times faster than Pillow's
    # per-frame median cut.
    step = max(1, len(frames) // 8)
    palette = Image.fromarray(np.concatenate(frames[::step], axis=0)).quantize(
        256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=_gif_frame_duration(fps),
                   loop=0, optimize=False, comment=f"vidpred fps={fps:g}")
