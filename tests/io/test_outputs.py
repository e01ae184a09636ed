"""Outputs are written under temporary names and moved into place only when the command succeeds: what was on disk
before survives an error or Ctrl-C byte for byte, and a folder's record tells a re-run from something else."""
import json
import os
from pathlib import Path

import pytest

from vidpred.config import ConfigError
from vidpred.io.outputs import MANIFEST, Written, output_file, output_folder, read_manifest, staged_outputs


def snapshot(root: Path) -> dict:
    """Every file under ``root`` (hidden ones included) with its bytes, and every folder."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_a_failed_command_leaves_an_existing_file_and_folder_as_they_were(tmp_path, failure):
    (tmp_path / "keep.gif").write_bytes(b"the user's gif")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.html").write_text("old report")
    (tmp_path / "out" / "mine.txt").write_text("notes")
    before = snapshot(tmp_path)
    with pytest.raises(failure):
        with staged_outputs() as staged:
            staged.file(tmp_path / "keep.gif").write_bytes(b"half a gif")
            folder = staged.folder(tmp_path / "out", Written("report"))
            (folder / "report.html").write_text("new report, half written")
            raise failure("stopped")
    assert snapshot(tmp_path) == before


def test_parent_folders_made_for_an_output_are_removed_again_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with staged_outputs() as staged:
            staged.file(tmp_path / "new" / "deeper" / "grid.png").write_bytes(b"x")
            raise RuntimeError
    assert not any(tmp_path.iterdir())


def test_success_replaces_files_and_the_entries_of_the_previous_run_keeps_the_rest(tmp_path):
    written = Written("evaluate", {"model": "m"}, "an evaluation of m")
    with staged_outputs() as staged:
        folder = staged.folder(tmp_path / "out", written)
        (folder / "metrics.json").write_text("1")
        (folder / "samples_best.gif").write_text("old kind")
    (tmp_path / "out" / "mine.txt").write_text("the user's")
    assert read_manifest(tmp_path / "out")["entries"] == ["metrics.json", "samples_best.gif"]
    with staged_outputs() as staged:  # the same command again writes another set of files
        folder = staged.folder(tmp_path / "out", written)
        (folder / "metrics.json").write_text("2")
        (folder / "samples.gif").write_text("new kind")
        staged.file(tmp_path / "grid.gif").write_text("grid")
    assert sorted(os.listdir(tmp_path)) == ["grid.gif", "out"]  # no temporary name left
    out = tmp_path / "out"
    assert sorted(os.listdir(out)) == [MANIFEST, "metrics.json", "mine.txt", "samples.gif"]
    assert (out / "metrics.json").read_text() == "2" and (out / "mine.txt").read_text() == "the user's"


def test_a_folder_of_something_else_is_refused_unless_overwrite(tmp_path):
    with staged_outputs() as staged:
        folder = staged.folder(tmp_path / "out", Written("evaluate", {"model": "a"}, "an evaluation of a"))
        (folder / "m").write_text("")
    same = Written("evaluate", {"model": "a"}, "an evaluation of a")
    other = Written("evaluate", {"model": "b"}, "an evaluation of b")
    assert output_folder(tmp_path / "out", written=same) == tmp_path / "out"
    with pytest.raises(ConfigError, match=r"holds an evaluation of a, not an evaluation of b; .*--overwrite"):
        output_folder(tmp_path / "out", written=other)
    output_folder(tmp_path / "out", written=other, overwrite=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("")
    with pytest.raises(ConfigError, match=r"already holds files vidpred did not write there \(thesis.tex\)"):
        output_folder(tmp_path / "mine", written=same)
    with pytest.raises(ConfigError, match="is not empty; give a new or empty folder"):
        output_folder(tmp_path / "mine", new=True, overwrite=True)
    (tmp_path / "empty").mkdir()
    output_folder(tmp_path / "empty", written=same, new=True)


def test_an_output_that_is_an_input_is_refused(tmp_path):
    video = tmp_path / "clip.avi"
    video.write_bytes(b"video")
    frames = tmp_path / "frames"
    frames.mkdir()
    with pytest.raises(ConfigError, match="--out .*clip.avi is the input"):
        output_file(video, (".avi", ".gif"), inputs=[str(video)])
    with pytest.raises(ConfigError, match="lies inside the input folder"):
        output_file(frames / "grid.png", (".png",), inputs=[str(frames)])
    with pytest.raises(ConfigError, match="is the input"):
        output_folder(frames, inputs=[frames])
    with pytest.raises(ConfigError, match="holds the input"):
        output_folder(tmp_path, inputs=[video])
    output_folder(frames / "store", inputs=[frames])  # a folder beside the frames changes nothing they hold


def test_a_record_naming_paths_outside_its_folder_moves_nothing_there(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "precious").write_text("outside")
    (out / MANIFEST).write_text(json.dumps({"command": "report", "key": {}, "entries": ["../precious", "/etc", "a"]}))
    with staged_outputs() as staged:
        (staged.folder(out, Written("report")) / "a").write_text("new")
    assert (tmp_path / "precious").read_text() == "outside" and (out / "a").read_text() == "new"
