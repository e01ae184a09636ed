"""Frame grids a person can read: rows are sequences or samples, columns are time.

Every cell gets a coloured border that says what the frame is: green = context (given to the model),
red = prediction (made by the model), blue = ground-truth future. Each row carries a label at its left
("context", "ground truth", "sample 1", ...). :func:`make_grid` draws the static strip; :func:`animate_grid`
draws the same strip once per time step with a large "now" cell before it and a marker under the current
column, so a GIF shows the motion at a glance and still has the whole strip in view.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidpred.io.video import to_uint8_frames, write_video

CONTEXT_COLOR = (46, 160, 67)
PREDICTION_COLOR = (220, 50, 47)
GROUND_TRUTH_COLOR = (38, 139, 210)
BACKGROUND = (255, 255, 255)
TEXT_COLOR = (20, 20, 20)
MARKER_COLOR = (240, 180, 0)
LEGEND = (("context", CONTEXT_COLOR), ("prediction", PREDICTION_COLOR), ("ground truth", GROUND_TRUTH_COLOR))


@dataclass
class GridRow:
    """One row: ``frames`` ``(T, C, H, W)`` (float in [0, 1] or uint8) and how to colour them.

    The first ``num_context`` frames are context; the rest are predictions if ``predicted`` else ground truth.
    """
    frames: np.ndarray | torch.Tensor
    label: str
    num_context: int = 0
    predicted: bool = False

    def color(self, t: int) -> tuple[int, int, int]:
        if t < self.num_context:
            return CONTEXT_COLOR
        return PREDICTION_COLOR if self.predicted else GROUND_TRUTH_COLOR


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


class _Layout:
    def __init__(self, rows: list[GridRow], scale: int, border: int, gap: int, now_cell: bool, legend: bool):
        if not rows:
            raise ValueError("a grid needs at least one row")
        self.rows = rows
        self.frames = [to_uint8_frames(r.frames) for r in rows]  # each (T, H, W, 3)
        heights = {f.shape[1:3] for f in self.frames}
        if len(heights) != 1:
            raise ValueError(f"all rows must have frames of one size; got sizes {sorted(heights)}")
        h, w = next(iter(heights))
        if scale > 1:
            self.frames = [f.repeat(scale, axis=1).repeat(scale, axis=2) for f in self.frames]
            h, w = h * scale, w * scale
        self.h, self.w, self.border, self.gap = h, w, border, gap
        self.cell_h, self.cell_w = h + 2 * border, w + 2 * border
        self.num_cols = max(len(f) for f in self.frames)
        self.font_size = max(10, min(16, self.cell_h // 4))
        self.font = _font(self.font_size)
        longest = max(self.font.getlength(r.label) for r in rows)
        self.label_w = int(longest) + 2 * gap + 4
        self.now_w = self.cell_w + 4 * gap + 6 if now_cell else 0
        self.strip_x = self.label_w + self.now_w
        self.marker_h = 3 if now_cell else 0
        self.row_h = self.cell_h + gap + self.marker_h
        self.legend_h = self.font_size + 2 * gap + 4 if legend else 0
        # the legend names only the kinds of frame the grid holds, and the grid is wide enough to show it whole
        shown = {row.color(t) for row, frames in zip(rows, self.frames) for t in range(len(frames))}
        self.legend = [(name, color) for name, color in LEGEND if color in shown] if legend else []
        legend_w = gap + 2 + sum(self.font_size + 4 + int(self.font.getlength(name)) + 3 * gap + 6
                                 for name, _ in self.legend)
        self.width = max(self.strip_x + self.num_cols * (self.cell_w + gap) + gap, legend_w)
        self.height = gap + len(rows) * self.row_h + self.legend_h

    def cell(self, canvas: np.ndarray, x: int, y: int, image: np.ndarray, color) -> None:
        canvas[y:y + self.cell_h, x:x + self.cell_w] = color
        canvas[y + self.border:y + self.border + self.h, x + self.border:x + self.border + self.w] = image

    def column_x(self, t: int) -> int:
        return self.strip_x + t * (self.cell_w + self.gap)

    def row_y(self, i: int) -> int:
        return self.gap + i * self.row_h


def _draw_text(canvas: np.ndarray, layout: _Layout, legend: bool) -> np.ndarray:
    from PIL import Image, ImageDraw

    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    for i, row in enumerate(layout.rows):
        y = layout.row_y(i) + layout.cell_h // 2
        draw.text((layout.gap + 2, y), row.label, fill=TEXT_COLOR, font=layout.font, anchor="lm")
    if legend:
        x, y = layout.gap + 2, layout.height - layout.legend_h + layout.gap + 2
        for name, color in layout.legend:
            draw.rectangle((x, y, x + layout.font_size, y + layout.font_size), fill=color)
            x += layout.font_size + 4
            draw.text((x, y), name, fill=TEXT_COLOR, font=layout.font)
            x += int(layout.font.getlength(name)) + 3 * layout.gap + 6
    return np.asarray(image)


def _strip(layout: _Layout, legend: bool) -> np.ndarray:
    canvas = np.full((layout.height, layout.width, 3), BACKGROUND, dtype=np.uint8)
    for i, (row, frames) in enumerate(zip(layout.rows, layout.frames)):
        for t, image in enumerate(frames):
            layout.cell(canvas, layout.column_x(t), layout.row_y(i), image, row.color(t))
    return _draw_text(canvas, layout, legend)


def make_grid(rows: list[GridRow], scale: int = 1, border: int = 2, gap: int = 2, legend: bool = True) -> np.ndarray:
    """Static grid: uint8 ``(H, W, 3)``; rows top to bottom, time left to right."""
    return _strip(_Layout(rows, scale, border, gap, now_cell=False, legend=legend), legend)


def animate_grid(rows: list[GridRow], scale: int = 1, border: int = 2, gap: int = 2,
                 legend: bool = True) -> np.ndarray:
    """Animated grid: uint8 ``(T, H, W, 3)``; frame t shows each row's frame t large, then the strip."""
    layout = _Layout(rows, scale, border, gap, now_cell=True, legend=legend)
    strip = _strip(layout, legend)
    out = np.repeat(strip[None], layout.num_cols, axis=0)
    now_x = layout.label_w + layout.gap
    for t in range(layout.num_cols):
        for i, (row, frames) in enumerate(zip(layout.rows, layout.frames)):
            y = layout.row_y(i)
            shown = min(t, len(frames) - 1)  # a shorter row (e.g. context only) holds its last frame
            layout.cell(out[t], now_x, y, frames[shown], row.color(shown))
            if t < len(frames):
                x, marker_y = layout.column_x(t), y + layout.cell_h + 1
                out[t, marker_y:marker_y + layout.marker_h, x:x + layout.cell_w] = MARKER_COLOR
    return out


GRID_SUFFIXES = (".gif", ".mp4", ".mkv", ".mov", ".avi", ".png")  # what ``write_grid`` writes


def write_grid(path: str | Path, rows: list[GridRow], fps: float = 4.0, scale: int = 1) -> Path:
    """Write a grid: ``.gif`` or a video container -> :func:`animate_grid`, ``.png`` -> :func:`make_grid`."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        import os

        from PIL import Image

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.png")
        Image.fromarray(make_grid(rows, scale=scale)).save(tmp)
        os.replace(tmp, path)
        return path
    frames = animate_grid(rows, scale=scale)  # (T, H, W, 3)
    return write_video(path, frames.transpose(0, 3, 1, 2), fps=fps)


def write_grids(stem: str | Path, rows: list[GridRow], fps: float = 4.0) -> list[str]:
    """The animated and the still grid of ``rows``: ``stem.gif`` and ``stem.png``; returns their file names."""
    stem = Path(stem)
    return [write_grid(stem.with_name(stem.name + suffix), rows, fps=fps).name for suffix in (".gif", ".png")]
