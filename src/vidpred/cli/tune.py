"""Hyperparameter search: ``vidpred tune``."""
from __future__ import annotations

from pathlib import Path

from vidpred.cli.common import EPILOG, check_device, positive_int, rich_console
from vidpred.config import ConfigError


def study_folder(runs_dir: str, study: str) -> Path:
    """``runs_dir/study``: new, or a study's folder (a folder holding other things is refused)."""
    folder = Path(runs_dir) / study
    if folder.is_file() or folder.is_dir() and any(folder.iterdir()) and not any(
            (folder / name).exists() for name in ("study.db", "trials", "trials.csv")):
        raise ConfigError(f"{folder} holds files that are not a vidpred study; give another --study or runs_dir=")
    return folder


def cmd_tune(args) -> None:
    import importlib.util

    from vidpred.training.config import load_experiment

    if importlib.util.find_spec("optuna") is None:
        raise ConfigError("vidpred tune needs Optuna, which is not installed: pip install 'vidpred[tune]'")
    base = load_experiment(args.config, args.overrides)  # the config's own errors first
    check_device(args.device)
    from vidpred.training.tune import Tuner, settings_for

    settings = settings_for(base, args.space, args.protocol, args.metric, args.sequences, args.samples,
                            args.validate_every)
    tuner = Tuner(settings, args.study, study_folder(base.runs_dir, args.study), storage=args.storage,
                  device=args.device, prune=not args.no_prune)
    tuner.run(args.trials)
    print_table(tuner)


def print_table(tuner) -> None:
    from rich.table import Table

    metric = tuner.settings.metric
    table = Table(title=f"study {tuner.study.study_name}: {metric} on the validation split of {tuner.protocol.name} "
                        f"({'higher' if tuner.higher_is_better else 'lower'} is better)")
    keys = [d.key for d in tuner.dimensions]
    for column in ("trial", "state", metric, *keys, "wall min"):
        table.add_column(column, justify="right" if column not in ("state",) else "left")
    best = tuner.best()
    for row in tuner.rows():
        value = row[metric]
        cells = [f"{row['trial']}{' (as given)' if row['as_given'] else ''}", row["state"],
                 "" if value is None else f"{value:.4f}", *[_cell(row.get(k)) for k in keys],
                 _cell(row["wall_minutes"])]
        table.add_row(*cells, style="bold" if best is not None and row["trial"] == best.number else None)
    for name, value in tuner.baselines().items():
        table.add_row("", name, f"{value:.4f}", *[""] * len(keys), "", style="dim")
    console = rich_console()
    console.print(table)
    folder = tuner.study_folder
    if best is not None:
        console.print(f"best: trial {best.number}; its config: {folder / 'best.yaml'} (vidpred train it); "
                      f"all trials: {folder / 'trials.csv'}, {folder / 'trials.png'}", highlight=False)


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def add_parsers(verbs) -> None:
    """Add ``tune`` to the ``vidpred`` parser's verbs."""
    p = verbs.add_parser(
        "tune", help="search hyperparameters with Optuna (resumable, shareable across machines)",
        epilog=EPILOG.replace("num_digits=1 image_size=128", "trainer.max_minutes=10"),
        usage="vidpred tune CONFIG.yaml --space SPACE.yaml --trials N --study NAME --protocol P [--storage URL] "
              "[key=value ...]",
        description="Train one run per trial (runs_dir/STUDY/trials/trial_NNNN) with values drawn from SPACE.yaml "
                    "(config keys mapped to {log_uniform: [low, high]}, {uniform: ...}, {int: ...}, {log_int: ...} "
                    "or {choice: [...]}), each with the config's own budget; score it by --metric of --protocol on "
                    "the validation split (held-out training data, never the test set); prune trials whose "
                    "validation loss falls behind. The study is kept in Optuna's storage (SQLite in the study "
                    "folder, or --storage URL shared by several machines): the same command resumes it, a trial "
                    "stopped by Ctrl-C or a kill is run again from its last checkpoint. Writes trials.csv, "
                    "trials.png and best.yaml (the best trial's config, for vidpred train) into the study folder. "
                    "Needs the tune extra: pip install 'vidpred[tune]'.")
    p.add_argument("config", help="YAML config (see configs/): the experiment every trial starts from")
    p.add_argument("--space", required=True, help="YAML file of config keys and their ranges")
    p.add_argument("--trials", required=True, type=positive_int,
                   help="finished trials the study should have (this and other processes together)")
    p.add_argument("--study", required=True, help="study name; its folder is runs_dir/NAME")
    p.add_argument("--protocol", required=True, help="the evaluation protocol whose validation split scores a trial")
    p.add_argument("--metric", help="the protocol's metric to optimise (default: its headline SSIM)")
    p.add_argument("--sequences", type=positive_int, default=100, help="validation sequences per trial")
    p.add_argument("--samples", type=positive_int, default=5,
                   help="samples per sequence for stochastic models; the best counts, as the protocol reports")
    p.add_argument("--validate-every", type=positive_int,
                   help="steps between the validation losses pruning compares (default: trainer.val_every, or 100)")
    p.add_argument("--no-prune", action="store_true", help="let every trial run its whole budget")
    p.add_argument("--storage", help="an Optuna storage URL (postgresql://..., mysql://...; default: SQLite in the "
                                     "study folder)")
    p.add_argument("--device", default="cpu", help="where trials are scored (training follows trainer.accelerator)")
    p.set_defaults(func=cmd_tune, takes_overrides=True)
