"""The data verbs: ``vidpred data list | prepare | show``."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from vidpred.cli.common import (
    EPILOG,
    add_data_source,
    add_overwrite,
    non_negative_int,
    positive_float,
    positive_int,
    rich_console,
    user_data_config,
)
from vidpred.io.outputs import Written, count, output_file, output_folder, staged_outputs


def cmd_data_list(args) -> None:
    from vidpred.data.registry import dataset_names, dataset_spec

    console = rich_console()
    console.print("[bold]vidpred data sets[/bold] (clip shape (T, C, H, W) at the default config)\n")
    for name in dataset_names():
        spec = dataset_spec(name)
        cfg = spec.config_cls()
        shape = f"({cfg.num_frames}, {cfg.channels}, {cfg.image_size}, {cfg.image_size})"
        root = "  needs --root PATH" if spec.needs_root else ""
        console.print(f"[bold]{name}[/bold]  {shape}{root}", highlight=False)
        console.print(f"    {spec.description}", highlight=False)


def cmd_data_prepare(args) -> None:
    from vidpred.data.base import empty_split
    from vidpred.data.cache import FrameStore, store_record
    from vidpred.data.registry import dataset_spec

    cfg = user_data_config(args.name, args.root, args.overrides)
    written = Written("data prepare", {"data": args.name}, f"a prepared store of {args.name}", store_record)
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[getattr(cfg, "root", None)])
    started = time.perf_counter()
    with staged_outputs() as staged:  # a store that was there stays whole until the new one is complete
        index = dataset_spec(args.name).prepare(cfg, staged.folder(args.out, written))
    seconds = time.perf_counter() - started
    store = FrameStore(args.out)
    console = rich_console()
    size = sum((Path(args.out) / s["file"]).stat().st_size for s in index["shards"])
    console.print(f"[bold]prepared {args.name}[/bold] into {args.out} in {seconds:.1f} s "
                  f"({size / 2**20:.1f} MiB, frames {tuple(store.frame_shape)})")
    for split in ("train", "test"):
        videos = [v for v in store.videos if v.split == split]
        console.print(f"  {split}: {count(len(videos), 'video')}, {count(sum(v.length for v in videos), 'frame')}")
    for split in ("train", "test"):
        if not any(v.split == split for v in store.videos):
            print(f"vidpred: warning: {empty_split(cfg, split, len(store.videos))}", file=sys.stderr)
    if index["skipped"]:
        console.print(f"  [yellow]skipped {count(len(index['skipped']), 'input')}:[/yellow]")
        for item in index["skipped"]:
            console.print(f"    {item['source']}: {item['reason']}")
    else:
        console.print("  skipped: none")


def cmd_data_show(args) -> None:
    from vidpred.data import build_dataset
    from vidpred.data.base import check_not_empty
    from vidpred.io.grid import GRID_SUFFIXES, GridRow, write_grid

    output_file(args.out, GRID_SUFFIXES, inputs=[args.root, args.cache])
    cfg = user_data_config(args.name, args.root, args.overrides, args.cache)
    dataset = build_dataset(cfg, args.split)
    check_not_empty(dataset, cfg, args.split)
    shown = min(args.n, len(dataset))
    label = getattr(dataset, "clip_id", lambda i: f"clip {i}")
    with staged_outputs() as staged:
        rows = [GridRow(dataset[i], label(i), num_context=args.context) for i in range(shown)]
        write_grid(staged.file(args.out), rows, fps=args.fps)
    print(f"wrote {count(shown, args.split + ' clip')} of {args.name} to {args.out}")


def add_parsers(verbs) -> None:
    """Add ``data`` to the ``vidpred`` parser's verbs."""
    data = verbs.add_parser("data", help="list, prepare (decode once into a cache) and show data sets",
                            description="Data sets: list them, prepare a cache, or look at clips.")
    data_verbs = data.add_subparsers(dest="data_verb", metavar="ACTION", required=True)

    p = data_verbs.add_parser("list", help="the registered data sets", description="List the registered data sets.")
    p.set_defaults(func=cmd_data_list)

    p = data_verbs.add_parser(
        "prepare", help="decode a data set once into uint8 shards + index", epilog=EPILOG,
        usage="vidpred data prepare NAME [--root PATH] --out DIR [key=value ...]",
        description="Decode every video of a data set once, at the configured size, into memory-mappable uint8 "
                    "shards with an index of checksums. Unreadable videos are skipped and listed. For the "
                    "generated data sets this writes the fixed test set.")
    p.add_argument("name", help="data set name (see `vidpred data list`)")
    p.add_argument("--root", help="folder of the raw data set (KTH, BAIR, video_folder)")
    p.add_argument("--out", required=True, help="folder to write the store to")
    add_overwrite(p)
    p.set_defaults(func=cmd_data_prepare, takes_overrides=True)

    p = data_verbs.add_parser(
        "show", help="write a grid of clips (.gif animated, .png static, .mp4)", epilog=EPILOG,
        usage="vidpred data show NAME [--root PATH | --cache DIR] [--split test] [--n 8] [--context K] "
              "--out FILE [key=value ...]",
        description="Write a labelled grid of clips: rows are clips, columns are time.")
    p.add_argument("name", help="data set name (see `vidpred data list`)")
    add_data_source(p)
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--n", type=positive_int, default=8, help="number of clips (default 8)")
    p.add_argument("--context", type=non_negative_int, default=0,
                   help="colour the first K frames as context (default 0)")
    p.add_argument("--fps", type=positive_float, default=4.0, help="frames per second of the animation (default 4)")
    p.add_argument("--out", required=True, help="output file: .gif, .png or .mp4")
    p.set_defaults(func=cmd_data_show, takes_overrides=True)
