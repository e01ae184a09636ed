"""The human preference study (Walker et al. 2021, 5.2): ``vidpred study create | serve | results``."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from vidpred.cli.common import (
    EPILOG,
    add_data_source,
    add_overwrite,
    check_device,
    data_fields,
    positive_float,
    positive_int,
    protocol_predictor,
)
from vidpred.config import ConfigError
from vidpred.io.outputs import Written, count, output_folder, staged_outputs


def study_source(text: str, device: str, protocol, data_cfg):
    """A side of a study: a folder of predicted videos (a folder without a model's config.yaml), or a model (a
    registered name built for the protocol's frames, a saved model or run folder)."""
    from vidpred.models.io import CONFIG_FILE, model_folder
    from vidpred.study.create import Source

    folder = model_folder(text)
    if folder is not None and not (folder / CONFIG_FILE).is_file():
        return Source(text, folder=folder)
    return Source(text, model=protocol_predictor(text, device, protocol, data_cfg))


def cmd_study_create(args) -> None:
    from vidpred.eval.protocol import custom_protocol, get_protocol, protocol_data_config
    from vidpred.study.create import create_study
    from vidpred.study.store import DATABASE_FILE, StudyStore

    data_overrides = data_fields(args.overrides, args.root, args.cache)
    protocol = custom_protocol(get_protocol(args.protocol), data_overrides=data_overrides)
    if (Path(args.study_dir) / DATABASE_FILE).exists():
        raise ConfigError(f"{args.study_dir} holds a study already; give a new folder")
    sides = [side for side in (args.a, args.b) if Path(side).exists()]
    output_folder(args.study_dir, "STUDY_DIR", new=True, inputs=[*sides, args.root, args.cache])
    check_device(args.device)
    data_cfg = protocol_data_config(protocol, data_overrides)
    a = study_source(args.a, args.device, protocol, data_cfg)
    b = study_source(args.b, args.device, protocol, data_cfg)
    with staged_outputs() as staged:  # the study appears whole, or not at all
        create_study(staged.folder(args.study_dir), a, b, protocol, args.clips, args.samples, seed=args.seed,
                     fps=args.fps, device=args.device, data_overrides=data_overrides)
    pairs = len(StudyStore.open(args.study_dir).pairs())
    print(f"wrote a study of {count(pairs, 'pair')} ({args.a} against {args.b}, {protocol.name}) to {args.study_dir}; "
          f"serve it with `vidpred study serve {args.study_dir}`")


def cmd_study_serve(args) -> None:
    from vidpred.study.app import serve
    from vidpred.study.store import StudyStore

    store = StudyStore.open(args.study_dir)
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port}: a port is 1-65535")
    if args.token is not None and not (8 <= len(args.token) <= 128 and args.token.isprintable()
                                       and " " not in args.token):
        raise ConfigError("--token: give 8-128 printable characters without spaces")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"vidpred: warning: the study is reachable from the network on {args.host}:{args.port}; anyone who "
              f"can reach this machine can rate{'' if args.token else ' (use --token to require a secret link)'}",
              file=sys.stderr)
    shown = "localhost" if args.host in ("0.0.0.0", "::") else args.host
    link = f"http://{shown}:{args.port}/" + (f"?token={args.token}" if args.token else "")
    print(f"serving the study in {args.study_dir} at {link} (results: {link.split('?')[0]}results); Ctrl-C stops",
          flush=True)
    serve(store, args.host, args.port, args.token)


def cmd_study_results(args) -> None:
    from vidpred.study.results import write_results
    from vidpred.study.store import StudyStore

    store = StudyStore.open(args.study_dir)
    out = Path(args.out) if args.out else Path(args.study_dir) / "results"
    if out.exists() and os.path.samefile(out, args.study_dir):
        raise ConfigError(f"--out {out} is the study folder; give another folder (default STUDY_DIR/results)")
    written = Written("study results", {"study": str(Path(args.study_dir).resolve())},
                      f"the results of the study in {args.study_dir}")
    output_folder(out, written=written, overwrite=args.overwrite)
    with staged_outputs() as staged:
        results = write_results(store, staged.folder(out, written))
    table = results["table"]
    print(f"{results['judgements']} judgements by {count(results['raters'], 'rater')} on "
          f"{count(results['pairs'], 'pair')}: "
          + ", ".join(f"{name} {table[c]['count']} ({100 * (table[c]['share'] or 0):.1f}%)"
                      for c, name in (("a", f"prefer A ({results['a']})"), ("b", f"prefer B ({results['b']})"),
                                      ("indifferent", "indifferent"))))
    print(f"wrote {out / 'results.md'}, results.json and results.png")


def add_parsers(verbs) -> None:
    """Add ``study`` to the ``vidpred`` parser's verbs."""
    study = verbs.add_parser(
        "study", help="a side-by-side human preference study of two models (Walker et al. 2021, 5.2), as a web app",
        description="Create a study of two models' continuations of the same contexts, serve its rating page, "
                    "and tabulate the judgements (Walker et al. 2021, Table 1).")
    study_verbs = study.add_subparsers(dest="study_verb", metavar="ACTION", required=True)
    p = study_verbs.add_parser(
        "create", help="predict (or read) both models' videos for the same contexts and make the study's database",
        epilog=EPILOG + " They set data fields.",
        usage="vidpred study create STUDY_DIR --a MODEL_OR_FOLDER --b MODEL_OR_FOLDER --protocol P --clips N "
              "[--samples 1] [key=value ...]",
        description="Each side is a model (a registered name, a run folder or a pretrained/ folder), predicted "
                    "here, or a folder of predicted videos named by test sequence (00000.mp4, 00001.mp4, ...; "
                    "00000_K.mp4 with several samples). Both continue the first N test contexts of the protocol's "
                    "data from the same conditioning frames; videos are written as H.264 MP4 and VP9 WebM.")
    p.add_argument("study_dir", help="a new folder for the study")
    p.add_argument("--a", required=True,
                   help="model A: a registered name, a model or run folder, or a folder of videos")
    p.add_argument("--b", required=True, help="model B: the same kinds as --a")
    p.add_argument("--protocol", required=True, help="the protocol whose test contexts are used (e.g. mmnist-10-10)")
    p.add_argument("--clips", type=positive_int, required=True, help="contexts to compare (the paper: up to 30)")
    p.add_argument("--samples", type=positive_int, default=1, help="samples of each model per context (default 1)")
    add_data_source(p)
    p.add_argument("--fps", type=positive_float, default=8.0, help="frames per second of the videos (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.set_defaults(func=cmd_study_create, takes_overrides=True)
    p = study_verbs.add_parser(
        "serve", help="serve the rating page (uvicorn)",
        description="Serve the study's rating page and its results page. Binds to 127.0.0.1 unless --host says "
                    "otherwise; with --token, raters need the printed link.")
    p.add_argument("study_dir", help="a folder made by `vidpred study create`")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--token", help="a secret that raters' links must carry (for a study over a network)")
    p.set_defaults(func=cmd_study_serve)
    p = study_verbs.add_parser(
        "results", help="Table 1: prefer A / prefer B / indifferent with 95%% intervals, per pair, agreement",
        description="The shares of judgements preferring A, B or neither with 95%% Wilson intervals, per-rater "
                    "and per-pair counts, Krippendorff's alpha between raters and a bar plot: results.json, "
                    "results.md and results.png.")
    p.add_argument("study_dir", help="a folder made by `vidpred study create`")
    p.add_argument("--out", help="output folder (default STUDY_DIR/results)")
    add_overwrite(p)
    p.set_defaults(func=cmd_study_results)
