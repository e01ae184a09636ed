"""The papers' evaluation protocols as named presets, and the evaluation loop that applies them.

A protocol pins everything a number depends on: data set and its config, context and horizon, the
metrics and which SSIM convention is the headline, the number of samples per test sequence, and the FVD
settings. Each result file repeats the whole protocol.

Stochastic models are sampled ``num_samples`` times per test sequence (100 by default, as SVG). For every
metric we report

- **best-of-N**: per *sequence* (not per frame), the sample whose metric averaged over the predicted frames
  is best; its per-frame curve is what the per-frame arrays show;
- **mean-of-N**: the metric averaged over samples;
- **diversity**: the mean pairwise distance between samples (sum-over-pixels MSE, and LPIPS when available),
  over the pairs among the first ``DIVERSITY_SAMPLES`` samples.

Deterministic models are sampled once. Confidence intervals are 95% Student-t intervals over sequences.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import torch
from scipy import stats as scipy_stats

from vidpred.config import ConfigError
from vidpred.eval.metrics import PIXEL_METRICS, Metric
from vidpred.io.outputs import count as plural
from vidpred.progress import Progress, duration

DIVERSITY_SAMPLES = 10
LPIPS_UNAVAILABLE = "LPIPS needs the AlexNet backbone weights"


@dataclass(frozen=True)
class Protocol:
    name: str
    source: str  # the paper and table or figure whose numbers it reproduces
    data: dict  # data set config fields (name included)
    context: int
    horizon: int
    metrics: tuple[str, ...]
    headline_ssim: str  # "ssim" (Gaussian 11, Finn et al.) or "ssim_uniform7" (PredRNN lineage)
    num_samples: int = 100
    eval_horizon: int | None = None  # predict this far (>= horizon) for the per-frame curves; None = horizon
    fvd: bool = False
    max_sequences: int | None = None  # None: the whole test split
    custom: bool = False  # True: a named protocol's data and metrics with another context or horizon (not a paper's)

    @property
    def predicted(self) -> int:
        return self.eval_horizon or self.horizon


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("mmnist-10-10", "S-HR-VQVAE Table 2 (Moving MNIST, PredRNN lineage)",
             {"name": "moving_mnist", "num_frames": 20}, 10, 10,
             ("mse", "mae", "ssim_uniform7", "psnr", "lpips"), "ssim_uniform7"),
    Protocol("kth-10-20", "S-HR-VQVAE Table 2 (KTH 128x128, 10 -> 20, PredRNN lineage)",
             {"name": "kth", "image_size": 128, "num_frames": 30}, 10, 20,
             ("ssim_uniform7", "psnr", "lpips", "mse"), "ssim_uniform7"),
    Protocol("kth-10-10-64", "SVG Fig. 7 right (KTH 64x64)",
             {"name": "kth", "image_size": 64, "num_frames": 20}, 10, 10,
             ("ssim", "ssim_svg_release", "psnr", "lpips"), "ssim"),
    Protocol("smmnist-5-10", "SVG Fig. 7 left (SM-MNIST; trained for 10 frames, curves out to 20)",
             {"name": "stochastic_moving_mnist", "num_frames": 25}, 5, 10,
             ("ssim", "ssim_svg_release", "psnr", "mse", "lpips"), "ssim", eval_horizon=20),
    Protocol("bair-2-10", "SVG Fig. 8 (BAIR, 10 predicted frames as trained)",
             {"name": "bair", "num_frames": 30}, 2, 10, ("ssim", "ssim_svg_release", "psnr", "lpips"), "ssim",
             fvd=True),
    Protocol("bair-2-28", "SVG Fig. 8 (BAIR, 28 predicted frames)",
             {"name": "bair", "num_frames": 30}, 2, 28, ("ssim", "ssim_svg_release", "psnr", "lpips"), "ssim",
             fvd=True),
    Protocol("kinetics-4-12", "Walker et al. 2021 Table 2 (Kinetics-600 FVD at 64x64, 16-frame clips, 4 -> 12)",
             {"name": "video_folder", "num_frames": 16, "image_size": 64, "channels": 3}, 4, 12,
             ("psnr", "ssim", "lpips"), "ssim", fvd=True),
)}


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {name!r}; known protocols: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


# Data fields that say where a data set's files are, not what it is, and num_test (test sequence i of a generated set
# is the same whatever their number, so fewer is what --sequences does), and validation_fraction (it moves training
# videos only): overriding them keeps a protocol the paper's.
LOCATION_FIELDS = ("root", "cache", "test_npy", "mnist_dir", "num_test", "validation_fraction")


def protocol_data_config(protocol: Protocol, overrides: dict | None = None):
    """The data config ``protocol`` evaluates on, with the user's ``overrides`` (root=, cache=, ...)."""
    from vidpred.data import data_config

    fields = {k: v for k, v in protocol.data.items() if k != "name"}
    return data_config(protocol.data["name"], **{**fields, **(overrides or {})})


def custom_protocol(base: Protocol, context: int | None = None, horizon: int | None = None,
                    data_overrides: dict | None = None) -> Protocol:
    """``base`` (its data set and metrics) with another number of context and/or predicted frames, or data fields
    that change what is evaluated (``data_overrides`` other than ``LOCATION_FIELDS``: channels, sizes, test
    fraction, ...): for a user's data or a model that needs more context than the paper gives. Named and marked as
    custom, so its figures are never mistaken for the paper protocol's; ``None`` keeps the base's number."""
    context = base.context if context is None else context
    horizon = base.horizon if horizon is None else horizon
    if context < 1 or horizon < 1:
        raise ConfigError(f"a protocol needs at least 1 context and 1 predicted frame, not {context} and {horizon}")
    default = dataclasses.asdict(protocol_data_config(base))
    changed = {k: v for k, v in (data_overrides or {}).items()
               if k not in LOCATION_FIELDS and (k not in default or default[k] != v)}
    frames = (context, horizon) != (base.context, base.horizon)
    if not frames and not changed:
        return base
    data = {**base.data, **changed}
    if frames:
        data["num_frames"] = max(data.get("num_frames", 0), context + horizon)
    what = [f"{context} context and {horizon} predicted frames"] if frames else []
    what += [", ".join(f"{k}={v!r}" for k, v in changed.items())] if changed else []
    return dataclasses.replace(
        base, name=f"{base.name}:custom" + (f"-{context}-{horizon}" if frames else ""), context=context,
        horizon=horizon, eval_horizon=None if frames else base.eval_horizon, data=data, custom=True,
        source=f"custom: the data and metrics of {base.name} with {' and '.join(what)}, so not the paper protocol "
               f"({base.context} -> {base.predicted} frames of {base.data['name']}: {base.source})")


def confidence_interval(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95% Student-t half-width over ``axis`` (half-width NaN for fewer than 2 values)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    sem = values.std(axis=axis, ddof=1) / math.sqrt(n)
    return mean, sem * scipy_stats.t.ppf(0.975, n - 1)


def best_of_n(values: np.ndarray, higher_is_better: bool) -> tuple[np.ndarray, np.ndarray]:
    """values ``(B, N, T)`` -> (index of the best sample per sequence ``(B,)``, its per-frame values ``(B, T)``).

    The best sample is chosen per sequence by the metric averaged over its frames, not frame by frame.
    """
    score = values.mean(axis=2)
    if higher_is_better:
        score = np.where(np.isnan(score), -np.inf, score)
        best = score.argmax(axis=1)
    else:
        score = np.where(np.isnan(score), np.inf, score)
        best = score.argmin(axis=1)
    return best, values[np.arange(len(values)), best]


@dataclass
class EvalSettings:
    num_samples: int | None = None  # None: the protocol's (1 for deterministic models)
    max_sequences: int | None = None
    batch_size: int = 8
    seed: int = 0
    device: str = "cpu"
    lpips_weights: str | None = None
    i3d_weights: str | None = None
    data_overrides: dict = field(default_factory=dict)  # e.g. root=... for KTH
    # stop after the batch that passes this much time: the sequences done so far are the evaluation (a budget for
    # a long protocol, e.g. on a lent GPU); None: no limit
    max_minutes: float | None = None
    # "validation": the held-out training data (``vidpred tune`` chooses settings there, never on the test set)
    split: str = "test"


class _MetricSet:
    """The metrics of a protocol that can be computed here; unavailable ones carry the sentence why."""

    def __init__(self, protocol: Protocol, settings: EvalSettings):
        self.metrics: list[Metric] = []
        self.unavailable: dict[str, str] = {}
        self.unavailable_short: dict[str, str] = {}  # the same in a few words, for tables
        self.lpips_model = None
        for name in protocol.metrics:
            if name == "lpips":
                from vidpred.eval.lpips import load_lpips
                from vidpred.eval.weights import WeightsUnavailable

                try:
                    self.lpips_model = load_lpips(settings.lpips_weights).to(settings.device)
                except WeightsUnavailable as err:
                    self.unavailable["lpips"], self.unavailable_short["lpips"] = str(err), err.short
                    continue
                self.metrics.append(Metric("lpips", self._lpips, False, "LPIPS AlexNet-lin v0.1"))
            else:
                self.metrics.append(PIXEL_METRICS[name])

    @torch.no_grad()
    def _lpips(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        b, t = pred.shape[:2]
        return self.lpips_model(pred.flatten(0, 1), target.flatten(0, 1)).view(b, t)


def _pairwise_diversity(samples: torch.Tensor, metric_set: _MetricSet) -> dict[str, np.ndarray]:
    """samples ``(B, N, T, C, H, W)`` -> per-sequence mean pairwise distances ``(B,)`` by name."""
    n = min(samples.shape[1], DIVERSITY_SAMPLES)
    pairs = list(itertools.combinations(range(n), 2))
    if not pairs:
        return {}
    first = samples[:, [i for i, _ in pairs]].flatten(0, 1)  # (B * P, T, C, H, W)
    second = samples[:, [j for _, j in pairs]].flatten(0, 1)
    b = samples.shape[0]
    out = {"mse": PIXEL_METRICS["mse"].fn(first, second).mean(-1).view(b, len(pairs)).mean(1).numpy()}
    if metric_set.lpips_model is not None:
        out["lpips"] = metric_set._lpips(first, second).mean(-1).view(b, len(pairs)).mean(1).cpu().numpy()
    return out



def check_frames(model, data_cfg, source: str) -> None:
    """One sentence, before any work, when ``model`` takes frames of other channels or size than the data
    ``source`` names give."""
    want = (model.config.channels, model.config.image_size)
    have = (data_cfg.channels, data_cfg.image_size)
    if want != have:
        raise ConfigError(f"the model takes {want[0]}-channel {want[1]}x{want[1]} frames; {source} gives "
                          f"{have[0]}-channel {have[1]}x{have[1]} frames")


def check_evaluation(model, protocol: Protocol, settings: EvalSettings):
    """Everything about evaluating ``model`` under ``protocol`` that can be checked without predicting: the counts,
    the model's context against the protocol's, the clip length, and the frames' channels and size. Returns the
    data config."""
    for name in ("max_sequences", "num_samples", "batch_size"):  # None: not given; zero is no count
        if getattr(settings, name) is not None and getattr(settings, name) < 1:
            raise ConfigError(f"{name} must be at least 1, not {getattr(settings, name)}")
    if settings.max_minutes is not None and not settings.max_minutes > 0:
        raise ConfigError(f"max_minutes must be above 0, not {settings.max_minutes}")
    data_cfg = protocol_data_config(protocol, settings.data_overrides)
    if protocol.context < model.min_context:
        raise ConfigError(f"the model needs at least {model.min_context} context frames; protocol "
                          f"{protocol.name} gives {protocol.context} (evaluate with --context "
                          f"{model.min_context} for a custom protocol on the same data)")
    needed = protocol.context + protocol.predicted
    if data_cfg.num_frames < needed:
        raise ConfigError(f"protocol {protocol.name} needs clips of {needed} frames; data num_frames is "
                          f"{data_cfg.num_frames}")
    check_frames(model, data_cfg, f"protocol {protocol.name}")
    return data_cfg


def evaluate(model, protocol: Protocol, settings: EvalSettings, model_label: str = "", log=None) -> dict:
    """Run ``protocol`` on ``model``; returns the result (also what ``write_results`` saves) and examples.
    ``log``: called with a line saying what the evaluation will do and, after the first batch, how long the whole
    of it will take (the command prints them; the Python API is silent)."""
    from vidpred.data import build_dataset
    from vidpred.data.base import check_not_empty, unlike_training_data

    data_cfg = check_evaluation(model, protocol, settings)
    dataset = build_dataset(data_cfg, settings.split)
    check_not_empty(dataset, data_cfg, settings.split)
    limit = next(n for n in (settings.max_sequences, protocol.max_sequences, len(dataset)) if n is not None)
    count = min(limit, len(dataset))
    num_samples = 1 if not model.stochastic else (
        protocol.num_samples if settings.num_samples is None else settings.num_samples)
    metric_set = _MetricSet(protocol, settings)
    generator = torch.Generator(device=settings.device).manual_seed(settings.seed)
    pick = np.random.default_rng(settings.seed)

    per_metric: dict[str, dict[str, list]] = {m.name: {"best": [], "mean": []} for m in metric_set.metrics}
    capped = {m.name: 0 for m in metric_set.metrics if m.cap is not None}
    diversity: dict[str, list] = {}
    examples: list[dict] = []  # a few sequences for the grids: (context, target, best sample, random sample)
    fvd_state = _FVDCollector(protocol, settings, data_cfg, count, model) if protocol.fvd else None
    started = time.perf_counter()
    model = model.to(settings.device).eval()
    if log is not None:
        log(f"evaluating {model_label or model.config.name} under {protocol.name}: {plural(count, 'test sequence')} x "
            f"{plural(num_samples, 'sample')}, {protocol.context} context -> {protocol.predicted} predicted frames")
    planned, stopped = count, None
    with Progress(f"{protocol.name}: {plural(count, 'sequence')} x {plural(num_samples, 'sample')}",
                  count) as progress:
        for begin in range(0, count, settings.batch_size):
            if begin and settings.max_minutes and time.perf_counter() - started > 60 * settings.max_minutes:
                count, stopped = begin, f"stopped by its time budget of {settings.max_minutes:g} min after {begin} " \
                                        f"of {planned} sequences"
                break
            clips = torch.stack([dataset[i] for i in range(begin, min(begin + settings.batch_size, count))])
            clips = clips.to(settings.device)
            context = clips[:, :protocol.context]
            if begin == 0 and model.trained_on:  # a model from a folder knows what it was trained on
                unlike = unlike_training_data(context, data_cfg.channels == 1, model.trained_on,
                                              what=f"the {data_cfg.name} test data")
                if unlike:
                    warnings.warn(unlike, stacklevel=2)
            target = clips[:, protocol.context:protocol.context + protocol.predicted]
            samples = model.predict(context, protocol.predicted, num_samples, generator=generator).clamp(0, 1)
            b, n = samples.shape[:2]
            repeated = target.unsqueeze(1).expand_as(samples).flatten(0, 1)
            headline_best = None
            for metric in metric_set.metrics:
                values = metric.fn(samples.flatten(0, 1), repeated).view(b, n, -1).double().cpu().numpy()
                if metric.cap is not None:
                    capped[metric.name] += int((values > metric.cap).sum())
                    values = np.minimum(values, metric.cap)
                best_index, best = best_of_n(values, metric.higher_is_better)
                per_metric[metric.name]["best"].append(best)
                per_metric[metric.name]["mean"].append(values.mean(axis=1))
                if metric.name == protocol.headline_ssim:
                    headline_best = best_index
            if n > 1:
                for name, value in _pairwise_diversity(samples.cpu(), metric_set).items():
                    diversity.setdefault(name, []).append(value)
            if fvd_state is not None:
                fvd_state.add(clips, context, samples[:, 0])
            if len(examples) < 4:
                for i in range(min(b, 4 - len(examples))):
                    best_i = int(headline_best[i]) if headline_best is not None else 0
                    examples.append({"context": context[i].cpu(), "target": target[i].cpu(),
                                     "best": samples[i, best_i].cpu(),
                                     "random": samples[i, int(pick.integers(n))].cpu(),
                                     "id": dataset.clip_id(begin + i) if hasattr(dataset, "clip_id")
                                     else str(begin + i)})
            progress.advance(b)
            if log is not None and begin == 0 and count > b:
                took = time.perf_counter() - started
                log(f"the first {plural(b, 'sequence')} took {duration(took)}: about {duration(took * count / b)} "
                    f"for all {count} (--sequences and --samples make it shorter)")

    results = {"protocol": dataclasses.asdict(protocol), "model": model_label,
               "model_config": dataclasses.asdict(model.config), "stochastic": bool(model.stochastic),
               "data_config": dataclasses.asdict(data_cfg), "split": settings.split, "n_sequences": count,
               "n_samples": num_samples,
               "stopped": stopped,
               "seed": settings.seed, "metrics": {}, "unavailable": dict(metric_set.unavailable),
               "unavailable_short": dict(metric_set.unavailable_short),
               "diversity": {}, "seconds": None, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "versions": _versions()}
    for name, parts in per_metric.items():
        entry = {}
        for aggregate in ("best", "mean"):
            frames = np.concatenate(parts[aggregate])  # (sequences, T)
            headline = frames[:, :protocol.horizon].mean(axis=1)  # per sequence, over the protocol's horizon
            mean, half = confidence_interval(headline)
            curve, curve_half = confidence_interval(frames)
            entry[aggregate] = {"mean": float(mean), "ci95": float(half), "per_frame": curve.tolist(),
                                "per_frame_ci95": curve_half.tolist()}
            if protocol.eval_horizon and protocol.eval_horizon != protocol.horizon:
                mean_long, half_long = confidence_interval(frames.mean(axis=1))
                entry[aggregate][f"mean_{protocol.eval_horizon}"] = float(mean_long)
                entry[aggregate][f"ci95_{protocol.eval_horizon}"] = float(half_long)
        if name in capped:
            entry["cap"] = PIXEL_METRICS[name].cap
            entry["frames_capped"] = capped[name]  # frames (over all samples) whose value exceeded the cap
        results["metrics"][name] = entry
    for name, parts in diversity.items():
        mean, half = confidence_interval(np.concatenate(parts))
        results["diversity"][name] = {"mean": float(mean), "ci95": float(half),
                                      "pairs_of_first_samples": min(num_samples, DIVERSITY_SAMPLES)}
    if fvd_state is not None:
        values, results["fvd_settings"], error = fvd_state.result()
        results.update(values)
        if error:
            results["unavailable"]["fvd"], results["unavailable_short"]["fvd"] = str(error), error.short
    results["seconds"] = round(time.perf_counter() - started, 2)
    return {"results": results, "examples": examples}


class _FVDCollector:
    """I3D embeddings of real and generated clips, for FVD under the pinned settings.

    The real clips' Gaussian is cached (keyed by data config and FVD settings), so it is computed once. When the
    predictor has a tokenizer (a ``reconstruct(video)`` method), FVD* is computed too: the generated clips against
    the tokenizer's reconstructions of the real ones (Walker et al. Table 2), which factors out the tokenizer's loss.
    """

    def __init__(self, protocol: Protocol, settings: EvalSettings, data_cfg, count: int, predictor):
        from vidpred.data.cache import default_cache_root
        from vidpred.eval.fvd import FVDSettings, load_i3d, reference_stats_file
        from vidpred.eval.weights import WeightsUnavailable

        self.settings = FVDSettings(num_videos=count, num_frames=protocol.context + protocol.predicted,
                                    seed=settings.seed)
        self.key = {"data": dataclasses.asdict(data_cfg), "fvd": dataclasses.asdict(self.settings)}
        self.reference_file = reference_stats_file(default_cache_root() / "fvd", self.key)
        self.need_real = not self.reference_file.is_file()
        self.real: list[torch.Tensor] = []
        self.fake: list[torch.Tensor] = []
        self.reconstructed: list[torch.Tensor] = []
        self.reconstruct = getattr(predictor, "reconstruct", None)
        try:
            self.model = load_i3d(settings.i3d_weights).to(settings.device)
            self.error = None
        except WeightsUnavailable as err:
            self.model, self.error = None, err

    def add(self, clips: torch.Tensor, context: torch.Tensor, sample: torch.Tensor) -> None:
        if self.model is None:
            return
        from vidpred.eval.fvd import i3d_features

        fake = torch.cat([context, sample], dim=1)
        real = clips[:, :fake.shape[1]]
        if not self.settings.include_context:
            fake, real = sample, real[:, context.shape[1]:]
        if self.need_real:
            self.real.append(i3d_features(self.model, real, self.settings.resize))
        self.fake.append(i3d_features(self.model, fake, self.settings.resize))
        if self.reconstruct is not None:
            with torch.no_grad():
                recon = self.reconstruct(real).clamp(0, 1)
            self.reconstructed.append(i3d_features(self.model, recon, self.settings.resize))

    def result(self) -> tuple[dict, dict, Exception | None]:
        """({"fvd": ..., "fvd_star": ...}, the pinned settings, the WeightsUnavailable that stopped FVD or None)."""
        settings = dataclasses.asdict(self.settings)
        if self.model is None:
            return {"fvd": None}, settings, self.error
        from vidpred.eval.fvd import frechet_distance, gaussian_stats, load_stats, save_stats

        if self.need_real:
            mu_r, sigma_r = gaussian_stats(np.concatenate(self.real))
            save_stats(self.reference_file, mu_r, sigma_r, self.key)
        else:
            mu_r, sigma_r = load_stats(self.reference_file)
        mu_g, sigma_g = gaussian_stats(np.concatenate(self.fake))
        values = {"fvd": frechet_distance(mu_r, sigma_r, mu_g, sigma_g)}
        if self.reconstructed:
            mu_s, sigma_s = gaussian_stats(np.concatenate(self.reconstructed))
            values["fvd_star"] = frechet_distance(mu_s, sigma_s, mu_g, sigma_g)
        return values, settings, None


def _versions() -> dict:
    import platform

    import scipy
    import torchmetrics

    import vidpred

    return {"vidpred": vidpred.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "torchmetrics": torchmetrics.__version__,
            "python": platform.python_version()}
