"""Data sets read from files: KTH, BAIR, video_folder, sample_clips; the prepared store; bad input."""
import numpy as np
import pytest
from PIL import Image

from vidpred.data import DataError, build_dataset, data_config
from vidpred.data import cache as cache_module
from vidpred.data.cache import FrameStore
from vidpred.data.kth import parse_sequences_file
from vidpred.data.kth import scan as kth_scan
from vidpred.data.registry import dataset_spec
from vidpred.data.video_folder import hash_split


def make_kth(root, write_clip):
    """A tiny KTH tree: 3 subjects (2 train, 1 test), plus a garbage and an empty file in the layout."""
    videos = {}
    for subject, action, scenario, seed in [(1, "boxing", 1, 0), (16, "walking", 2, 1), (17, "running", 3, 2)]:
        folder = root / action
        folder.mkdir(parents=True, exist_ok=True)
        name = f"person{subject:02d}_{action}_d{scenario}_uncomp.avi"
        videos[name] = write_clip(folder / name, num_frames=24, height=120, width=160, seed=seed)
    (root / "boxing" / "person18_boxing_d1_uncomp.avi").write_bytes(np.random.bytes(5000))  # garbage
    (root / "boxing" / "person19_boxing_d4_uncomp.avi").write_bytes(b"")  # empty
    (root / "boxing" / "notes.txt").write_text("not a video")  # not in the layout: ignored
    (root / "00sequences.txt").write_text(
        "person01_boxing_d1\t\tframes\t1-10, 11-24\n"
        "person16_walking_d2\t\tframes\t3-22\n")
    return videos


def test_kth_sequences_file_parsing(tmp_path):
    path = tmp_path / "00sequences.txt"
    path.write_text("header line\nperson01_boxing_d1\t\tframes\t1-95, 96-185,  186-245\n\n"
                    "person02_walking_d3  frames 7-30\n")
    assert parse_sequences_file(path) == {"person01_boxing_d1": [(0, 95), (95, 185), (185, 245)],
                                          "person02_walking_d3": [(6, 30)]}


def test_kth_layout_split_and_sequences(tmp_path, write_clip):
    make_kth(tmp_path, write_clip)
    cfg = data_config("kth", root=str(tmp_path), num_frames=8)
    entries = kth_scan(cfg)
    by_id = {e.id: e for e in entries}
    assert by_id["person01_boxing_d1#0"].split == "train" and (by_id["person01_boxing_d1#0"].start,
                                                                 by_id["person01_boxing_d1#0"].end) == (0, 10)
    assert (by_id["person01_boxing_d1#1"].start, by_id["person01_boxing_d1#1"].end) == (10, 24)
    assert (by_id["person16_walking_d2#0"].split, by_id["person16_walking_d2#0"].start) == ("train", 2)
    assert by_id["person17_running_d3"].split == "test"  # not in 00sequences.txt: the whole file
    assert by_id["person18_boxing_d1"].split == "test"

    train = build_dataset(cfg, "train")
    test = build_dataset(cfg, "test")
    # person01: ranges of 10 and 14 frames -> 1 + 1 clips of 8; person16: 20 frames -> 2 clips; person17: 24 -> 3
    assert len(train) == 4 and len(test) == 3
    assert train[0].shape == (8, 1, 64, 64)
    assert all(test.clip_id(i).startswith("person17") for i in range(len(test)))
    assert len(test.source.skipped) == 2  # garbage + empty, skipped and counted, not fatal

    big = build_dataset(data_config("kth", root=str(tmp_path), num_frames=8, image_size=128), "test")
    assert big[0].shape == (8, 1, 128, 128)


def test_kth_prepare_skips_bad_files_and_matches_decoding(tmp_path, write_clip):
    make_kth(tmp_path / "kth", write_clip)
    cfg = data_config("kth", root=str(tmp_path / "kth"), num_frames=8)
    index = dataset_spec("kth").prepare(cfg, tmp_path / "store")
    skipped = {s["source"].rsplit("/", 1)[-1] for s in index["skipped"]}
    assert skipped == {"person18_boxing_d1_uncomp.avi", "person19_boxing_d4_uncomp.avi"}
    cached = build_dataset(data_config("kth", cache=str(tmp_path / "store"), num_frames=8), "train")
    decoded = build_dataset(cfg, "train")
    assert len(cached) == len(decoded) == 4
    for i in range(len(cached)):
        assert cached.clip_id(i) == decoded.clip_id(i)
        assert np.array_equal(cached.frames(i), decoded.frames(i))
    assert FrameStore(tmp_path / "store").verify() == []


def test_kth_wrong_layout_fails_naming_the_layout(tmp_path, write_clip):
    write_clip(tmp_path / "person01_boxing_d1_uncomp.avi")  # no action folder
    with pytest.raises(DataError, match=r"no KTH videos under .*expected the layout \{root\}/\{action\}/person"):
        build_dataset(data_config("kth", root=str(tmp_path)), "train")
    with pytest.raises(DataError, match="is not a folder"):
        build_dataset(data_config("kth", root=str(tmp_path / "missing")), "train")


def test_bair_png_export(tmp_path):
    rng = np.random.default_rng(0)
    for split, trajectories in (("train", 3), ("test", 2)):
        for k in range(trajectories):
            folder = tmp_path / split / "traj_0_to_255" / str(k)
            folder.mkdir(parents=True)
            for t in range(30):
                Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{t}.png")
    cfg = data_config("bair", root=str(tmp_path))
    train, test = build_dataset(cfg, "train"), build_dataset(cfg, "test")
    assert (len(train), len(test)) == (3, 2)
    clip = test.frames(1)
    assert clip.shape == (30, 3, 64, 64)
    expected = np.asarray(Image.open(tmp_path / "test" / "traj_0_to_255" / "1" / "10.png")).transpose(2, 0, 1)
    assert np.array_equal(clip[10], expected)  # 64x64 PNGs pass through unchanged, in numeric frame order
    with pytest.raises(DataError, match=r"expected the layout \{root\}/\{train,test\}"):
        build_dataset(data_config("bair", root=str(tmp_path / "train" / "traj_0_to_255" / "0")), "train")


def test_video_folder_mixed_inputs_and_bad_files(tmp_path, write_clip):
    root = tmp_path / "videos"
    for i in range(6):
        write_clip(root / "a" / f"clip{i}.mp4", num_frames=10, seed=i)
    write_clip(root / "b" / "anim.gif", num_frames=10)
    frames_dir = root / "c" / "seq1"
    frames_dir.mkdir(parents=True)
    for t, image in enumerate(write_clip(tmp_path / "x.mp4", num_frames=10)):
        Image.fromarray(image.transpose(1, 2, 0)).save(frames_dir / f"{t}.png")
    good = (root / "a" / "clip0.mp4").read_bytes()
    (root / "a" / "truncated.mp4").write_bytes(good[: len(good) // 2])
    (root / "a" / "garbage.mov").write_bytes(np.random.bytes(3000))
    (root / "a" / "short.mp4").write_bytes(b"")

    cfg = data_config("video_folder", root=str(root), num_frames=8, test_fraction=0.5)
    index = dataset_spec("video_folder").prepare(cfg, tmp_path / "store")
    assert {s["source"].rsplit("/", 1)[-1] for s in index["skipped"]} == {"truncated.mp4", "garbage.mov",
                                                                            "short.mp4"}
    ids = {v["id"]: v["split"] for v in index["videos"]}
    assert set(ids) == {f"a/clip{i}.mp4" for i in range(6)} | {"b/anim.gif", "c/seq1"}
    assert all(split == hash_split(i, 0.5) for i, split in ids.items())
    assert set(ids.values()) == {"train", "test"}
    store_cfg = data_config("video_folder", cache=str(tmp_path / "store"), num_frames=8, test_fraction=0.5)
    total = sum(len(build_dataset(store_cfg, s)) for s in ("train", "test"))
    assert total == 8 and build_dataset(store_cfg, "train")[0].shape == (8, 3, 64, 64)


def test_video_folder_read_on_the_fly_skips_bad_and_short_files_and_goes_on(tmp_path, write_clip, capsys):
    """One rule for every command that reads a folder: frames counted by decoding (cached with the file's size
    and modification time), bad and too-short files skipped, counted and listed, the rest used."""
    import json

    from vidpred.cli import main
    from vidpred.data.base import FRAME_COUNTS
    from vidpred.data.cache import default_cache_root

    root = tmp_path / "videos"
    for i in range(3):
        write_clip(root / f"clip{i}.mp4", num_frames=20, seed=i)
    write_clip(root / "short.mp4", num_frames=5)
    good = (root / "clip0.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(good[: len(good) // 2])
    cfg = data_config("video_folder", root=str(root), num_frames=16, test_fraction=0.0)
    dataset = build_dataset(cfg, "train")
    assert len(dataset) == 3
    err = capsys.readouterr().err
    assert "skipped 2 of 5 videos of video_folder:" in err and "short.mp4 (5 frames, shorter than one clip (16))" in err
    assert "truncated.mp4 (cannot read video" in err
    counts = json.loads((default_cache_root() / FRAME_COUNTS).read_text())
    assert counts[str(root / "clip0.mp4")][2] == 20 and isinstance(counts[str(root / "truncated.mp4")][2], str)
    write_clip(root / "short.mp4", num_frames=18)  # the file changed: counted again
    assert len(build_dataset(cfg, "train")) == 4
    assert main(["data", "show", "video_folder", "--root", str(root), "--split", "train", "--n", "2",
                 "--out", str(tmp_path / "g.png"), "num_frames=16", "test_fraction=0"]) == 0
    assert "skipped 1 of 5 videos" in capsys.readouterr().err


def test_a_header_that_claims_more_frames_than_decode_is_not_trusted():
    from pathlib import Path

    from vidpred.io.video import probe_num_frames

    tree = Path("/usr/share/doc/opencv-doc/examples/data/tree.avi")  # Debian's opencv-doc
    if not tree.is_file():
        pytest.skip("OpenCV's sample videos are not installed (apt-get install opencv-doc)")
    import av

    with av.open(str(tree)) as container:
        assert container.streams.video[0].frames == 444
    assert probe_num_frames(tree) == 68


def test_video_folder_without_usable_video_fails(tmp_path):
    (tmp_path / "a.mp4").write_bytes(np.random.bytes(1000))
    with pytest.raises(DataError, match="no usable video among the 1 found"):
        dataset_spec("video_folder").prepare(data_config("video_folder", root=str(tmp_path)), tmp_path / "out")
    (tmp_path / "a.mp4").unlink()
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=r"no videos under .*expected a folder tree of video files"):
        build_dataset(data_config("video_folder", root=str(tmp_path)), "train")


def test_sample_clips_are_real_video():
    cfg = data_config("sample_clips")
    train, test = build_dataset(cfg, "train"), build_dataset(cfg, "test")
    assert len(train) > len(test) > 0
    clip = test[0]
    assert clip.shape == (16, 3, 64, 64) and clip.dtype.is_floating_point
    assert 0.1 < clip.mean() < 0.9 and clip.std() > 0.05  # real picture content, not blank
    ids = {train.clip_id(i).split(":")[0] for i in range(len(train))}
    assert ids == {"bigbuckbunny", "bikes", "carphone_distorted", "carphone_pristine"}


def test_store_shards_checksums_and_truncation(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "SHARD_BYTES", 3 * 64 * 64)  # a new shard every 3 frames
    writer = cache_module.StoreWriter(tmp_path, "demo", {})
    videos = [np.full((4, 1, 64, 64), i, dtype=np.uint8) for i in range(3)]
    for i, video in enumerate(videos):
        writer.add(f"v{i}", "train", video)
    writer.skip("broken.mp4", "cannot decode")
    index = writer.close()
    assert len(index["shards"]) == 3 and index["skipped"] == [{"source": "broken.mp4", "reason": "cannot decode"}]
    store = FrameStore(tmp_path)
    for i, video in enumerate(videos):
        assert np.array_equal(store.read(i), video)
    assert np.array_equal(store.read(1, [3, 0]), videos[1][[3, 0]])
    assert store.verify() == []
    shard = tmp_path / index["shards"][1]["file"]
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert store.verify() == [shard.name]  # the checksum catches a flipped bit
    shard.write_bytes(bytes(data[:200]))
    with pytest.raises(DataError, match="missing or truncated shard"):
        FrameStore(tmp_path)
    with pytest.raises(DataError, match=r"not a prepared data store \(no index.json\)"):
        FrameStore(tmp_path / "elsewhere")


def test_store_of_another_data_set_or_size_is_refused(tmp_path):
    dataset_spec("moving_mnist").prepare(data_config("moving_mnist", num_test=2), tmp_path / "mm")
    with pytest.raises(DataError, match="holds data set 'moving_mnist', not 'kth'"):
        build_dataset(data_config("kth", cache=str(tmp_path / "mm")), "test")
    with pytest.raises(DataError, match=r"prepared with digit_size=28, image_size=64, num_test=2; the config asks "
                                        r"for digit_size=16, image_size=32, num_test=2000"):
        build_dataset(data_config("moving_mnist", cache=str(tmp_path / "mm"), image_size=32, digit_size=16,
                                  num_test=2000), "test")
    # fields that only cut clips, or the epoch size, do not matter
    assert len(build_dataset(data_config("moving_mnist", cache=str(tmp_path / "mm"), num_test=2, train_size=7,
                                         clip_step=5, num_frames=20), "test")) == 2


def test_validation_fraction_holds_training_videos_out_of_training(tmp_path, write_clip):
    root = tmp_path / "videos"
    root.mkdir()
    for i in range(12):
        write_clip(root / f"clip{i:02d}.mp4", num_frames=8, seed=i)
    base = {"root": str(root), "num_frames": 8, "test_fraction": 0.25}
    everything = build_dataset(data_config("video_folder", **base), "train")
    with pytest.raises(DataError, match="set data.validation_fraction"):
        build_dataset(data_config("video_folder", **base), "validation")
    cfg = data_config("video_folder", **base, validation_fraction=0.4)
    train, validation = build_dataset(cfg, "train"), build_dataset(cfg, "validation")
    test = build_dataset(cfg, "test")
    names = {split: {d.clip_id(i).split("#")[0].split(":")[0] for i in range(len(d))}
             for split, d in (("train", train), ("validation", validation), ("test", test))}
    assert names["validation"] and names["train"] and not names["train"] & names["validation"]
    assert len(train) + len(validation) == len(everything)  # the test split is untouched
    assert len(test) == len(build_dataset(data_config("video_folder", **base), "test"))


def test_the_pieces_of_one_recording_are_held_out_together(tmp_path, write_clip):
    make_kth(tmp_path, write_clip)
    for fraction in (0.2, 0.5, 0.8):
        cfg = data_config("kth", root=str(tmp_path), num_frames=8, validation_fraction=fraction)
        train, validation = build_dataset(cfg, "train"), build_dataset(cfg, "validation")
        sides = {split: {d.clip_id(i).split("#")[0] for i in range(len(d))}
                 for split, d in (("train", train), ("validation", validation))}
        assert not sides["train"] & sides["validation"], fraction  # person01's two sequences on one side
        # (hashed one by one, person01's sequences #0 and #1 would fall on either side of 0.5)
        assert bool(sides["validation"]) == (fraction > 0.4), fraction
