"""The ``vidpred`` command.

    vidpred data list
    vidpred data prepare NAME [--root PATH] --out DIR [key=value ...]
    vidpred data show NAME [--root PATH] [--split test] [--n 8] [--context K] --out grid.gif [key=value ...]
    vidpred models
    vidpred train CONFIG.yaml [--fresh] [--print-config] [key=value ...]
    vidpred predict RUN_DIR_OR_MODEL --input VIDEO|FRAMES_DIR|data:NAME[:INDEX] --out grid.mp4 [...]
    vidpred evaluate --model RUN_DIR_OR_MODEL --protocol P --out DIR [...]
    vidpred report DIR1 DIR2 ... --out DIR
    vidpred reconstruct RUN_DIR --data NAME --out DIR [--clips 256]
    vidpred encode RUN_DIR --data NAME --out DIR [--splits train,test] [--context-frames N]
    vidpred export RUN_DIR --out DIR [--half]
    vidpred tune CONFIG.yaml --space SPACE.yaml --trials N --study NAME --protocol P [--storage URL] [key=value ...]
    vidpred uncertainty RUN_DIR --data stochastic_moving_mnist --out DIR [--sequences 500] [--frames 100]
    vidpred demo [--out outputs/demo] [--model DIR ...] [--sequences 16] [--samples 3]
    vidpred study create STUDY_DIR --a MODEL_OR_FOLDER --b MODEL_OR_FOLDER --protocol P --clips N [--samples 1]
    vidpred study serve STUDY_DIR [--host 127.0.0.1] [--port 8000] [--token SECRET]
    vidpred study results STUDY_DIR [--out DIR]

Each verb group is a module of this package with its handlers and, beside them, its ``add_parsers``
(``data``, ``train``, ``predict``, ``evaluate``, ``tokens``, ``latents``, ``study``); what they share is in
``common``. Errors in the user's input (a wrong key, a missing folder, an unreadable file) print one sentence and exit
with status 2; they never end in a traceback.
"""
from __future__ import annotations

import argparse
import sys

from vidpred.cli import data, evaluate, latents, predict, study, tokens, train, tune
from vidpred.cli.common import Parser
from vidpred.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="vidpred",
        description="vidpred: stochastic video prediction. Data sets, training, prediction, evaluation and reports.",
        epilog="Run `vidpred VERB --help` for each verb.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for group in (data, train, tune, predict, evaluate, tokens, latents, study):
        group.add_parsers(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # key=value overrides may stand anywhere after the verb, so they are collected from what argparse leaves.
    args, extra = parser.parse_known_args(argv)
    args.overrides = [e for e in extra if "=" in e and not e.startswith("-")]
    unknown = [e for e in extra if e not in args.overrides]
    if unknown or (args.overrides and not getattr(args, "takes_overrides", False)):
        parser.error(f"unrecognized arguments: {' '.join(unknown or args.overrides)}")
    import warnings

    from vidpred.data.base import DataError
    from vidpred.eval.weights import WeightsUnavailable
    from vidpred.io.video import VideoReadError
    from vidpred.training.errors import NonFiniteLoss

    # a warning meant for the user (e.g. frames left out of the context) is one line, not a source location
    warnings.showwarning = lambda message, *rest, **kw: print(f"vidpred: note: {message}", file=sys.stderr)
    try:
        args.func(args)
    except (ConfigError, DataError, VideoReadError, WeightsUnavailable, NonFiniteLoss, OSError, ValueError) as err:
        print(f"vidpred: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the verbs' staged outputs were discarded: what was on disk before is as it was
        if argv is None:  # run as the `vidpred` process, which now ends: a further Ctrl-C must not break its exit
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)
        done = ("run the same command again to resume from the last checkpoint" if args.verb in ("train", "tune") else
                "nothing was written, and what was there before is as it was")
        print(f"\nvidpred: interrupted; {done}", file=sys.stderr)
        return 130
    return 0
