"""Reading and writing video.

Layout everywhere: frames are ``(T, C, H, W)``. Readers return uint8 RGB (C = 3); writers take uint8 or
float in [0, 1] with C = 1 or 3. Files are decoded by PyAV (any container/codec its FFmpeg build reads,
GIF included); folders of numbered images are read with imageio. PyAV is imported where a video file is opened,
so the data sets that never read one (the generated ones) and training on them run where PyAV is not installed.
"""
from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

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
    import av

    path = Path(path)
    if path.is_dir():
        return len(list_frame_files(path))
    if path.suffix.lower() == ".gif":
        return len(_read_gif(path)[0])
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
    """A video file's frames per second (its container's average rate; a GIF's from its frame delays; None: not
    stated) and the width and height of its frames as a player shows them (a rotation in the file's display matrix
    applied, as phones record portrait video), from the header and the first frame."""
    import av

    path = Path(path)
    if path.suffix.lower() == ".gif":
        period, (width, height), _ = _gif(path)
        return (1000.0 / period if period else None), width, height
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path}: no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate
            width, height = stream.codec_context.width, stream.codec_context.height
            first = next(container.decode(stream), None)
            if first is not None and _quarter_turns(first) % 2:
                width, height = height, width
            return (float(rate) if rate else None), width, height
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise VideoReadError(f"{path}: cannot read video ({err})") from err


def _quarter_turns(frame) -> int:
    """Quarter turns counter-clockwise that a player applies to show ``frame`` (its display matrix's rotation).
    A display matrix's mirroring, which phones do not record, is not applied."""
    try:
        return round((frame.rotation or 0) / 90) % 4
    except (AttributeError, ValueError):
        return 0


def read_video(path: str | Path, start: int = 0, end: int | None = None,
               short_side: int | None = None, start_seconds: float | None = None) -> np.ndarray:
    """Decode frames ``start:end`` of a video file or frame folder to uint8 ``(T, 3, H, W)``, as a player shows them
    (a display-matrix rotation applied).

    ``start_seconds``: begin instead at the frame shown at that time (timestamps, not an average rate, so
    variable-frame-rate files are cut right), then take ``end - start`` frames (all with ``end`` None).
    ``short_side`` asks the decoder to scale each frame so its shorter side has that many pixels
    (aspect ratio kept); scaling inside FFmpeg is far cheaper than decoding at full size and resizing after.
    A file that cannot be decoded, or yields no frame in the range, raises :class:`VideoReadError` saying what the
    video holds.
    """
    path = Path(path)
    if not path.exists():
        raise VideoReadError(f"{path}: no such file or folder")
    wanted = None if end is None else end - start
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            videos = [p.name for p in sorted(path.iterdir()) if p.suffix.lower() in VIDEO_EXTENSIONS]
            held = f"it holds {len(videos)} video{'s' if len(videos) != 1 else ''} ({', '.join(videos[:3])}" + \
                (", ...)" if len(videos) > 3 else ")") + "; give one of them" if videos else "it holds none"
            raise VideoReadError(f"{path} is a folder without image frames ({', '.join(IMAGE_EXTENSIONS)}): {held}")
        if start_seconds is not None:
            raise VideoReadError(f"{path}: a folder of frames states no frame rate; give the start as a frame index")
        total, frames = len(files), _read_folder(path, start, end)
    elif path.suffix.lower() == ".gif":
        decoded, period = _read_gif(path)
        if start_seconds is not None:
            if not period:
                raise VideoReadError(f"{path}: the GIF states no frame delays; give the start as a frame index")
            start = int(start_seconds * 1000.0 / period + 1e-6)
        total, frames = len(decoded), decoded[start:None if wanted is None else start + wanted]
    else:
        frames, total = _read_file(path, start, wanted, short_side, start_seconds)
    if not frames:
        fps = video_info(path)[0] if path.is_file() else None
        length = f" ({total / fps:.2f} s at {fps:.3g} frames/s)" if fps else ""
        at = f"{start_seconds:g} s" if start_seconds is not None else f"frame {start}"
        raise VideoReadError(f"{path} holds {total} frame{'s' if total != 1 else ''}{length}: nothing starts at {at}")
    video = np.stack(frames)  # (T, H, W, 3)
    return np.ascontiguousarray(video.transpose(0, 3, 1, 2))  # (T, 3, H, W)


def _scaled_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    if short_side is None or min(width, height) <= short_side:
        return width, height
    scale = short_side / min(width, height)
    return max(short_side, round(width * scale)), max(short_side, round(height * scale))


def _read_file(path: Path, start: int, wanted: int | None, short_side: int | None,
               start_seconds: float | None) -> tuple[list[np.ndarray], int]:
    """The selected frames of a video file (see ``read_video``) and how many frames were decoded to find them."""
    import av

    chosen, decoded = [], 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in _selected(container.decode(stream), start, wanted, start_seconds):
                if isinstance(frame, int):  # the selection ended: the number of frames it decoded
                    decoded = frame
                    break
                width, height = _scaled_size(frame.width, frame.height, short_side)
                image = frame.to_ndarray(format="rgb24", width=width, height=height)
                turns = _quarter_turns(frame)
                chosen.append(np.ascontiguousarray(np.rot90(image, turns)) if turns else image)
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as err:
        raise VideoReadError(f"{path}: cannot decode video ({err})") from err
    return chosen, decoded


def _selected(frames, start: int, wanted: int | None, start_seconds: float | None):
    """Yield the decoded frames wanted -- from index ``start``, or from the frame shown at ``start_seconds`` (the
    last whose timestamp, counted from the first frame's, is not after it) -- ``wanted`` of them (None: all); then
    yield the number of frames decoded."""
    taken = decoded = 0
    held = first_time = None
    started = start_seconds is None
    for index, frame in enumerate(frames):
        decoded = index + 1
        if not started:
            if frame.time is None:
                raise VideoReadError("the video's frames carry no timestamps; give the start as a frame index")
            first_time = frame.time if first_time is None else first_time
            if frame.time - first_time <= start_seconds + 1e-6:
                held = frame
                continue
            started = True
            if held is not None:
                yield held
                taken += 1
        elif start_seconds is None and index < start:
            continue
        if wanted is not None and taken >= wanted:
            break
        yield frame
        taken += 1
    if not started and held is not None and start_seconds - (held.time - first_time) < _duration(held):
        yield held  # the time falls within the last frame's display
    yield decoded


def _duration(frame) -> float:
    """How long ``frame`` is shown (its packet duration; else a 30th of a second)."""
    try:
        if frame.duration and frame.time_base:
            return float(frame.duration * frame.time_base)
    except (AttributeError, TypeError):
        pass
    return 1 / 30


def _gif(path: Path, decode: bool = False) -> tuple[int, tuple[int, int], list]:
    """A GIF's frame period in ms (from the ``vidpred fps=`` comment our writer stores, else the greatest common
    divisor of its frame delays; 0 when it states none), its (width, height) and, with ``decode``, its frames as
    stored with their delays."""
    from math import gcd

    from PIL import Image, ImageSequence

    try:
        with Image.open(path) as image:
            comment = image.info.get("comment", b"")
            stored = [(np.asarray(f.convert("RGB")) if decode else None, int(f.info.get("duration", 0) or 0))
                      for f in ImageSequence.Iterator(image)]
            size = image.size
    except (OSError, ValueError, EOFError) as err:
        raise VideoReadError(f"{path}: cannot decode GIF ({err})") from err
    match = re.search(rb"vidpred fps=([0-9.]+)", comment if isinstance(comment, bytes) else comment.encode())
    period = 0
    if match:
        period = _gif_frame_duration(float(match.group(1)))
    else:
        for _, d in stored:
            if d > 0:
                period = gcd(period, d)
    return period, size, stored


def _read_gif(path: Path) -> tuple[list[np.ndarray], int]:
    """GIF frames, with runs of identical frames restored, and the frame period in ms (``_gif``).

    GIF writers (Pillow included) merge identical consecutive frames into one frame with a longer
    duration, so each decoded frame is repeated duration / frame period times: every frame returned lasts one
    period, and frame i is shown at i periods.
    """
    period, _, stored = _gif(path, decode=True)
    frames = []
    for image, duration in stored:
        repeats = max(1, round(duration / period)) if period and duration else 1
        frames.extend([image] * repeats)
    return frames, period


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
    import av

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
