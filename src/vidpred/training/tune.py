"""``vidpred tune``: hyperparameter search with Optuna over any config keys.

    vidpred tune CONFIG.yaml --space SPACE.yaml --trials N --study NAME --protocol P [--storage URL] [key=value ...]

SPACE.yaml maps config keys to ranges::

    optim.lr: {log_uniform: [1.0e-4, 3.0e-3]}
    trainer.batch_size: {choice: [8, 16, 32]}
    optim.warmup_steps: {int: [0, 500]}          # also: uniform: [low, high], log_int: [low, high]

Each trial is a normal run folder (``<runs_dir>/<study>/trials/trial_NNNN``) trained with the config's own budget
(``trainer.max_minutes`` / ``max_steps``: the same for every trial), then scored by a metric of a named protocol
on the **validation split** (held-out training data, never the test set; ``data/base.py``), best of ``samples``
per sequence as the protocol reports it. ``blank`` and ``copy_last`` are scored on the same sequences once per
study, so the table shows what a trial has to beat.

Pruning: a single-stage model validates on the validation split every ``validate_every`` steps of the config's
own batch -- that many clips, whatever a trial's batch size: a trial with half the batch validates every twice as
many steps --, and reports its loss to Optuna against the clips it has trained on (negated when the objective is
maximised, so that the pruner compares it the study's way). From the second validation on, a trial the median
pruner judges worse than the others at the same number of clips stops there and is marked pruned. (Compared at
equal steps instead, a smaller batch would be judged having seen less data, and pruned for it.)

The study lives in Optuna's storage: SQLite in the study folder by default, or a database URL that several
machines share (each then keeps the run folders of its own trials). ``--trials N`` is the number of finished
(complete or pruned) trials the study should have: the same command resumes it, and several processes on one
study each start trials until it has N. A trial stopped by Ctrl-C, or whose process died (a kill, a lost machine:
seen from its pid on the same host, or from its stopped heartbeat elsewhere), is queued again with the same
values and resumes from its run folder's last checkpoint: at most the steps since that checkpoint are lost.

At the end (and after every trial) the study folder gets ``trials.csv``, ``trials.png`` (objective per trial with
the baselines; objective against each searched value) and ``best.yaml``: the config with the best trial's values,
ready for ``vidpred train``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import sys
import time
import warnings
from pathlib import Path

import lightning as L
import yaml

from vidpred.config import ConfigError, apply_overrides, atomic_write_text, load_yaml, to_dict
from vidpred.training.config import ExperimentConfig, load_experiment
from vidpred.training.errors import NonFiniteLoss

KINDS = ("log_uniform", "uniform", "int", "log_int", "choice")
# in a trial's run folder: its score, kept so that a trial resumed after it was scored is not scored twice
OBJECTIVE_FILE = "objective.json"
HEARTBEAT_SECONDS, GRACE_SECONDS = 60, 180  # a trial whose process has not been heard from in 3 minutes has died


@dataclasses.dataclass(frozen=True)
class Dimension:
    key: str  # a config key, "optim.lr"
    kind: str
    values: tuple  # (low, high), or the choices

    def suggest(self, trial):
        low, high = self.values[0], self.values[-1]
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.values))
        if self.kind in ("int", "log_int"):
            return trial.suggest_int(self.key, int(low), int(high), log=self.kind == "log_int")
        return trial.suggest_float(self.key, float(low), float(high), log=self.kind == "log_uniform")

    def extremes(self) -> tuple:
        return self.values if self.kind == "choice" else (self.values[0], self.values[1])

    @property
    def log(self) -> bool:
        return self.kind.startswith("log")


def read_space(path) -> list[Dimension]:
    """The search space in ``path``, each entry checked (one sentence naming the first that is wrong)."""
    data = load_yaml(path)
    if not data:
        raise ConfigError(f"search space {path} names no config key; e.g. optim.lr: {{log_uniform: [1.0e-4, 3.0e-3]}}")
    space = []
    for key, spec in data.items():
        where = f"search space {path}: {key}"
        if not isinstance(spec, dict) or len(spec) != 1:
            raise ConfigError(f"{where}: expected one of {', '.join(KINDS)} with its values, e.g. "
                              f"{{log_uniform: [1.0e-4, 3.0e-3]}} or {{choice: [8, 16]}}")
        kind, values = next(iter(spec.items()))
        if kind not in KINDS:
            raise ConfigError(f"{where}: {kind!r} is not a kind of range ({', '.join(KINDS)})")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: {kind} takes a list of values")
        if kind != "choice":
            try:  # YAML reads 1e-4 (without a dot) as text
                values = [float(v) if kind in ("uniform", "log_uniform") else _whole(v) for v in values]
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: {kind} takes two numbers [low, high], not {values}") from None
            if len(values) != 2 or not values[0] < values[1]:
                raise ConfigError(f"{where}: {kind} takes [low, high] with low below high, not {values}")
            if kind.startswith("log") and values[0] <= 0:
                raise ConfigError(f"{where}: {kind} needs a low bound above 0, not {values[0]}")
        space.append(Dimension(str(key), kind, tuple(values)))
    return space


def _whole(value) -> int:
    number = float(value)
    if number != int(number):
        raise ValueError(value)
    return int(number)


def clips_per_step(cfg: ExperimentConfig) -> int:
    return cfg.trainer.batch_size * cfg.trainer.accumulate_batches


def trial_config(base: dict, params: dict, study_folder: Path, run_name: str, validate_clips: int) -> ExperimentConfig:
    """The experiment a trial trains: ``base`` with the trial's values, its run folder in the study folder, and
    validation (for pruning) on the validation split every ``validate_clips`` training clips."""
    overrides = [f"{key}={json.dumps(value)}" for key, value in params.items()]
    overrides += [f"runs_dir={json.dumps(str(study_folder / 'trials'))}", f"name={run_name}",
                  "trainer.val_split=validation"]
    cfg = load_experiment(base=apply_overrides(base, overrides))
    every = max(1, round(validate_clips / clips_per_step(cfg)))
    return dataclasses.replace(cfg, trainer=dataclasses.replace(cfg.trainer, val_every=every))


@dataclasses.dataclass
class TuneSettings:
    """What a study is: kept in the study's storage, so that a resumed or shared study is refused if it differs."""
    config: dict  # the experiment (file and overrides), before a trial's values
    space: list  # [[key, kind, values], ...]
    protocol: str
    metric: str
    sequences: int = 100
    samples: int = 5
    validate_every: int = 100  # steps of the config's own batch between validations (pruning)

    def dimensions(self) -> list[Dimension]:
        return [Dimension(key, kind, tuple(values)) for key, kind, values in self.space]


class Tuner:
    """One process working on a study: ``run(trials)`` starts trials until the study has that many finished."""

    def __init__(self, settings: TuneSettings, study_name: str, study_folder: Path, storage: str | None = None,
                 device: str = "cpu", prune: bool = True, log=None):
        import optuna

        self.settings, self.study_folder, self.device = settings, Path(study_folder), device
        self.log = log or (lambda line: print(f"vidpred tune: {line}", file=sys.stderr, flush=True))
        self.dimensions = settings.dimensions()
        self.base = load_experiment(base=settings.config)
        self.validate_clips = settings.validate_every * clips_per_step(self.base)
        self._check()
        self.study_folder.mkdir(parents=True, exist_ok=True)
        url = storage or f"sqlite:///{(self.study_folder / 'study.db').resolve()}"
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # vidpred prints its own line per trial
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # heartbeats: stable here
        self.storage = _storage(
            url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=lambda study, trial: self._queue_again(trial, "stopped being heard from"),
            # SQLite: several processes take turns writing; wait for the lock rather than fail
            engine_kwargs={"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {})
        direction = "maximize" if self.higher_is_better else "minimize"
        # from the second validation on: the first, early in training, ranks trials by their start
        pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=self.validate_clips + 1) if prune \
            else optuna.pruners.NopPruner()
        self.study = optuna.create_study(study_name=study_name, storage=self.storage, direction=direction,
                                         pruner=pruner, load_if_exists=True)
        self._same_study()
        self._as_given_first()
        from vidpred.training.stages import stages_for

        self.single_stage = len(stages_for(self.base)) == 1

    def _check(self) -> None:
        """Everything that can be wrong with the study, before any training: the protocol and metric, and every
        searched key at the ends of its range (an unknown key, a value the config refuses)."""
        from vidpred.eval.metrics import PIXEL_METRICS
        from vidpred.eval.protocol import get_protocol

        protocol = get_protocol(self.settings.protocol)
        if protocol.data["name"] != self.base.data.name:
            raise ConfigError(f"protocol {protocol.name} evaluates on {protocol.data['name']}; the config trains on "
                              f"{self.base.data.name}")
        if self.settings.metric not in protocol.metrics or self.settings.metric not in PIXEL_METRICS:
            usable = [m for m in protocol.metrics if m in PIXEL_METRICS]
            raise ConfigError(f"--metric {self.settings.metric}: the metrics of {protocol.name} a study can use are "
                              f"{', '.join(usable)}")
        self.protocol = protocol
        self.higher_is_better = PIXEL_METRICS[self.settings.metric].higher_is_better
        # the model the config builds can be scored under the protocol, and the validation split has sequences
        from vidpred.data import build_dataset
        from vidpred.data.base import check_not_empty
        from vidpred.eval.protocol import check_evaluation
        from vidpred.models.io import build_model

        data = check_evaluation(build_model(self.base.model), protocol, self.eval_settings())
        check_not_empty(build_dataset(data, "validation"), data, "validation")
        for dimension in self.dimensions:
            for value in dimension.extremes():
                try:
                    trial_config(self.settings.config, {dimension.key: value}, self.study_folder, "check",
                                 self.validate_clips)
                except ConfigError as err:
                    raise ConfigError(f"search space: {dimension.key} = {value!r} is not a valid config: {err}") \
                        from None

    def _same_study(self) -> None:
        mine = json.loads(json.dumps(dataclasses.asdict(self.settings)))
        saved = self.study.user_attrs.get("settings")
        if saved is None:
            self.study.set_user_attr("settings", mine)
        elif saved != mine:
            differ = [k for k in mine if mine[k] != saved.get(k)]
            raise ConfigError(f"study {self.study.study_name} was started with another {', '.join(differ)}; run it "
                              "with the same config, space and objective, or give another --study")

    def _as_given_first(self) -> None:
        """A new study's first trial is the config as given (where its values lie in the space): the table then
        shows whether tuning beat the recipe it started from, at the same budget."""
        if self.study.trials:
            return
        from vidpred.config import flatten

        given = flatten(to_dict(self.base))
        params = {d.key: given.get(d.key) for d in self.dimensions}
        inside = all(value in d.values if d.kind == "choice" else
                     isinstance(value, (int, float)) and d.values[0] <= value <= d.values[1]
                     for d, value in zip(self.dimensions, params.values()))
        if inside:
            self.study.enqueue_trial(params, user_attrs={"as_given": True}, skip_if_exists=True)

    # ---- the trials ----

    def _queue_again(self, trial, why: str) -> None:
        """A trial that did not finish, queued with the same values and run folder (it resumes from there)."""
        run = trial.user_attrs.get("run", f"trial_{trial.number:04d}")
        self.study.enqueue_trial(trial.params, user_attrs={"run": run, "resumes": trial.number})
        self.log(f"trial {trial.number} {why}; queued again with the same values (it resumes {run})")

    def _fail_dead_trials(self) -> None:
        """Trials left running by a process of this machine that no longer exists (killed): failed and queued
        again at once. Other machines' trials are judged by their heartbeat (Optuna's grace period)."""
        import optuna
        from optuna.trial import TrialState

        host = socket.gethostname()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            attrs = trial.user_attrs
            # a trial without its pid yet has just been started by another process (one that died before writing
            # it is found by its heartbeat)
            if attrs.get("host") != host or "pid" not in attrs or _alive(attrs["pid"]):
                continue
            try:
                self.storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another process got there first and queued it
            self._queue_again(trial, f"was left running by process {attrs.get('pid')}, which has ended")

    def finished(self) -> int:
        """Trials with a result: complete, pruned, or failed because their loss diverged."""
        from optuna.trial import TrialState

        trials = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
        return sum(t.state != TrialState.FAIL or "diverged" in t.user_attrs for t in trials)

    def running(self) -> int:
        from optuna.trial import TrialState

        return len(self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))

    def run(self, trials: int) -> None:
        """Start trials until the study has ``trials`` finished ones (counting those other processes run)."""
        import optuna

        self.baselines()
        while True:
            self._fail_dead_trials()
            optuna.storages.fail_stale_trials(self.study)
            if self.finished() + self.running() >= trials:
                break
            self._current = None
            try:  # a trial whose loss diverged is a result (failed, marked "diverged"), not the end of the study
                self.study.optimize(self._objective, n_trials=1, catch=(NonFiniteLoss,))
            except KeyboardInterrupt:
                if self._current is not None:
                    self._queue_again(self._current, "was stopped by Ctrl-C")
                self.write_summary()
                raise
            self.write_summary()
        self.log(f"study {self.study.study_name}: {self.finished()} finished trials" +
                 (f", {self.running()} running elsewhere" if self.running() else ""))

    def _objective(self, trial) -> float:
        import optuna

        from vidpred.training.runner import train

        self._current = trial
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        run = trial.user_attrs.get("run") or f"trial_{trial.number:04d}"
        trial.set_user_attr("run", run)
        params = {d.key: d.suggest(trial) for d in self.dimensions}
        cfg = trial_config(self.settings.config, params, self.study_folder, run, self.validate_clips)
        folder = self.study_folder / "trials" / run
        self.log(f"trial {trial.number}: " + ", ".join(f"{k}={_show(v)}" for k, v in params.items()) + f" -> {folder}")
        started = time.perf_counter()
        pruning = Pruning(trial, -1.0 if self.higher_is_better else 1.0, clips_per_step(cfg), self.validate_clips) \
            if self.single_stage else None
        try:
            train(cfg, callbacks=(pruning,) if pruning else ())
        except NonFiniteLoss as err:
            trial.set_user_attr("diverged", str(err))
            self.log(f"trial {trial.number} diverged: {err}")
            raise
        trial.set_user_attr("train_seconds", round(time.perf_counter() - started, 1))
        if pruning is not None and pruning.pruned:
            self.log(f"trial {trial.number} pruned at step {pruning.step} ({pruning.clips} clips)")
            raise optuna.TrialPruned(f"at step {pruning.step}")
        result = self.score(folder)
        trial.set_user_attr("scored", f"{result['aggregate']} on {result['sequences']} validation sequences")
        self.log(f"trial {trial.number}: {self.settings.metric} {result['value']:.4f} ({trial.user_attrs['scored']})")
        return float(result["value"])

    def score(self, folder: Path) -> dict:
        """The objective of a trained run folder (kept in it, so that a trial resumed after scoring is not scored
        again)."""
        from vidpred.models.io import load_model

        saved = folder / OBJECTIVE_FILE
        if saved.is_file():
            return json.loads(saved.read_text())
        result = self._evaluate(load_model(folder, self.device))
        atomic_write_text(saved, json.dumps(result, indent=2))
        return result

    def eval_settings(self):
        """How a trial is scored: the validation split of the protocol's data, read from where the config's data
        are (its root, store, MNIST files and held-out share)."""
        from vidpred.eval.protocol import EvalSettings

        fields = dataclasses.asdict(self.base.data)
        return EvalSettings(num_samples=self.settings.samples, max_sequences=self.settings.sequences,
                            device=self.device, split="validation",
                            data_overrides={k: fields[k] for k in ("root", "cache", "mnist_dir", "validation_fraction")
                                            if fields.get(k)})

    def _evaluate(self, model) -> dict:
        from vidpred.eval.protocol import evaluate

        results = evaluate(model, self.protocol, self.eval_settings())["results"]
        aggregate = "best" if results["n_samples"] > 1 else "mean"
        return {"metric": self.settings.metric, "value": results["metrics"][self.settings.metric][aggregate]["mean"],
                "aggregate": f"{aggregate} of {results['n_samples']}", "protocol": self.protocol.name,
                "split": "validation", "sequences": results["n_sequences"]}

    def baselines(self) -> dict:
        """blank and copy_last scored like a trial on the same validation sequences, once per study."""
        from vidpred.eval.protocol import protocol_data_config
        from vidpred.eval.report import BASELINES
        from vidpred.models.io import resolve_model

        saved = self.study.user_attrs.get("baselines")
        if saved is None:
            data = protocol_data_config(self.protocol)
            saved = {name: self._evaluate(resolve_model(
                name, self.device, channels=data.channels, image_size=data.image_size,
                num_context=self.protocol.context, num_predicted=self.protocol.horizon))["value"]
                for name in BASELINES}
            self.study.set_user_attr("baselines", saved)
        return saved

    # ---- what the study folder shows ----

    def rows(self) -> list[dict]:
        rows = []
        for trial in self.study.get_trials(deepcopy=False):
            state = "diverged" if "diverged" in trial.user_attrs else trial.state.name.lower()
            row = {"trial": trial.number, "state": state,
                   # Optuna gives a pruned trial its last intermediate value (here a validation loss): not a score
                   self.settings.metric: trial.value if state == "complete" else None, **trial.params,
                   "wall_minutes": round(trial.user_attrs["train_seconds"] / 60, 2)
                   if "train_seconds" in trial.user_attrs else None,
                   "run": trial.user_attrs.get("run", ""), "resumes": trial.user_attrs.get("resumes"),
                   "as_given": "yes" if trial.user_attrs.get("as_given") else ""}
            rows.append(row)
        return rows

    def best(self):
        from optuna.trial import TrialState

        done = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not done:
            return None
        return (max if self.higher_is_better else min)(done, key=lambda t: t.value)

    def write_summary(self) -> None:
        """trials.csv, trials.png and best.yaml in the study folder, from the storage (all processes' trials)."""
        rows = self.rows()
        columns = ["trial", "state", self.settings.metric, *[d.key for d in self.dimensions], "wall_minutes",
                   "run", "resumes", "as_given"]
        lines = [",".join(columns)]
        lines += [",".join("" if row.get(c) is None else str(row.get(c)) for c in columns) for row in rows]
        atomic_write_text(self.study_folder / "trials.csv", "\n".join(lines) + "\n")
        best = self.best()
        if best is not None:
            config = apply_overrides(self.settings.config, [f"{k}={json.dumps(v)}" for k, v in best.params.items()])
            config["name"] = f"{config.get('name', 'run')}_tuned"
            header = (f"# The config of `vidpred tune` study {self.study.study_name}'s best trial ({best.number}): "
                      f"{self.settings.metric} {best.value:.4f}\n# under {self.protocol.name} "
                      f"({best.user_attrs.get('scored', 'validation split')}); "
                      + ", ".join(f"{k}={_show(v)}" for k, v in best.params.items()) + "\n")
            atomic_write_text(self.study_folder / "best.yaml", header + yaml.safe_dump(config, sort_keys=False))
        if rows:
            self._plot(rows)

    def _plot(self, rows: list[dict]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker

        metric = self.settings.metric
        panels = 1 + len(self.dimensions)
        fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4), squeeze=False)
        baselines = self.study.user_attrs.get("baselines", {})
        for column, ax in enumerate(axes[0]):
            dimension = self.dimensions[column - 1] if column else None
            x_key = dimension.key if dimension else "trial"
            # a choice is drawn at its place in the list (any kind of value), its values named on the axis
            choices = list(dimension.values) if dimension and dimension.kind == "choice" else None
            position = choices.index if choices else (lambda v: v)
            scored = [row for row in rows if row["state"] == "complete"]
            ax.scatter([position(row[x_key]) for row in scored], [row[metric] for row in scored], color="tab:blue",
                       label="complete")
            given = [row for row in scored if row["as_given"]]
            ax.scatter([position(row[x_key]) for row in given], [row[metric] for row in given], s=160,
                       facecolors="none", edgecolors="tab:red", label="the config as given")
            pruned = [position(row[x_key]) for row in rows if row["state"] == "pruned" and row.get(x_key) is not None]
            if pruned:  # a pruned trial has no score: marked on the axis
                ax.scatter(pruned, [0.0] * len(pruned), marker="x", color="tab:orange", label="pruned",
                           transform=ax.get_xaxis_transform(), clip_on=False)
            for name, value in baselines.items():
                ax.axhline(value, linestyle="--", linewidth=1, color="grey" if name == "blank" else "black",
                           label=name)
            xs = [position(row[x_key]) for row in scored] + pruned
            if dimension and dimension.kind == "choice":
                ax.set_xticks(range(len(dimension.values)), [str(v) for v in dimension.values])
                ax.set_xlim(-0.5, len(dimension.values) - 0.5)
            elif xs:  # the pruned marks (drawn on the axis) do not widen the axis by themselves
                low, high = min(xs), max(xs)
                if dimension and dimension.log:
                    ax.set_xlim(low / 1.3, high * 1.3)
                else:
                    ax.set_xlim(low - 0.05 * (high - low) - 0.5, high + 0.05 * (high - low) + 0.5)
            if dimension and dimension.log and xs:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))  # 1, 2, 5 x 10^k
                ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0e}"))
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(x_key)
            ax.set_ylabel(f"{metric} (validation)")
        axes[0][0].legend(fontsize=7, loc="best")
        fig.suptitle(f"study {self.study.study_name}: {metric} on {self.protocol.name}'s validation split "
                     f"({'higher' if self.higher_is_better else 'lower'} is better)", fontsize=9)
        fig.tight_layout()
        tmp = self.study_folder / f".trials.tmp{os.getpid()}.png"
        fig.savefig(tmp, dpi=90)
        plt.close(fig)
        os.replace(tmp, self.study_folder / "trials.png")


class Pruning(L.Callback):
    """After each validation, the validation loss (times ``sign``) to the trial, against the training clips seen
    (rounded to the nearest multiple of ``every_clips``, so that trials of every batch size report at the same
    points); stops a trial the pruner prunes."""

    def __init__(self, trial, sign: float, clips_per_step: int, every_clips: int):
        self.trial, self.sign, self.clips_per_step, self.every_clips = trial, sign, clips_per_step, every_clips
        self.pruned, self.step, self.clips = False, None, None

    def on_validation_end(self, trainer, pl_module) -> None:
        loss = trainer.callback_metrics.get("val/loss")
        if loss is None or trainer.sanity_checking or not math.isfinite(float(loss)):
            return
        clips = round(trainer.global_step * self.clips_per_step / self.every_clips) * self.every_clips
        self.trial.report(self.sign * float(loss), clips)
        if self.trial.should_prune():
            self.pruned, self.step, self.clips, trainer.should_stop = True, trainer.global_step, clips, True


def _storage(url: str, **kwargs):
    """Optuna's database storage. Workers started together on a new database race to create its tables: the loser
    sees the winner's rows as a conflict and simply opens it again."""
    import random

    import optuna
    import sqlalchemy.exc

    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError):
            if attempt == 4:
                raise
            time.sleep(0.2 + random.random())
    raise AssertionError("unreachable")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine exists (signal 0 checks without sending anything)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to someone else
        return True
    return True


def _show(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def settings_for(base: ExperimentConfig, space_path, protocol: str, metric: str | None, sequences: int,
                 samples: int, validate_every: int | None) -> TuneSettings:
    """The study the command describes: its experiment (config file and overrides, loaded), space and options."""
    from vidpred.eval.protocol import get_protocol

    space = read_space(space_path)
    every = validate_every or base.trainer.val_every or 100
    return TuneSettings(config=to_dict(base), space=[[d.key, d.kind, list(d.values)] for d in space],
                        protocol=protocol, metric=metric or get_protocol(protocol).headline_ssim,
                        sequences=sequences, samples=samples, validate_every=every)
