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
    vidpred uncertainty RUN_DIR --data stochastic_moving_mnist --out DIR [--sequences 500] [--frames 100]
    vidpred demo [--out outputs/demo] [--model DIR ...] [--sequences 16] [--samples 3]
    vidpred study create STUDY_DIR --a MODEL_OR_FOLDER --b MODEL_OR_FOLDER --protocol P --clips N [--samples 1]
    vidpred study serve STUDY_DIR [--host 127.0.0.1] [--port 8000] [--token SECRET]
    vidpred study results STUDY_DIR [--out DIR]

Errors in the user's input (a wrong key, a missing folder, an unreadable file) print one sentence and exit
with status 2; they never end in a traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from vidpred.config import ConfigError, apply_overrides
from vidpred.io.outputs import Written, count, output_file, output_folder, staged_outputs


class Parser(argparse.ArgumentParser):
    """argparse with the toolkit's error style: one line naming the command, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 0, not {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text}")
    return value


# argparse names the type function in its message for a value it cannot convert ("invalid positive_int value")
positive_int.__name__ = non_negative_int.__name__ = "whole number"
positive_float.__name__ = "number"


def check_device(name: str) -> str:
    """``name`` if torch can use that device here, else one sentence saying which devices exist."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device {name}: not a device name (cpu, cuda, cuda:1, mps)") from None
    if device.type == "cpu":
        return name
    if device.type == "cuda":
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus == 0:
            built = "without CUDA" if torch.version.cuda is None else "with CUDA, but no GPU is visible"
            raise ConfigError(f"--device {name}: this torch ({torch.__version__}) was built {built}; "
                              "the only device here is cpu")
        if (device.index or 0) >= gpus:
            raise ConfigError(f"--device {name}: this machine has " +
                              ", ".join(f"cuda:{i}" for i in range(gpus)) + " and cpu")
        return name
    if device.type == "mps" and torch.backends.mps.is_available():
        return name
    raise ConfigError(f"--device {name}: not available here; use cpu")


EPILOG = "Config values: add key=value pairs after the options (e.g. num_digits=1 image_size=128)."


def _data_config(name: str, root: str | None, overrides: list[str], cache: str | None = None):
    from vidpred.data import data_config
    from vidpred.registry import dataset_spec

    fields = _data_fields(overrides, root, cache)
    cfg = data_config(name, **fields)
    if dataset_spec(name).needs_root and not getattr(cfg, "root", None) and not cfg.cache:
        raise ConfigError(f"data set {name!r} is read from files: give --root PATH (or --cache DIR of a prepared store)")
    return cfg


def _data_fields(overrides: list[str], root: str | None, cache: str | None) -> dict:
    """Data config fields from key=value overrides and the --root / --cache options."""
    fields = apply_overrides({}, overrides)
    fields.update({k: v for k, v in (("root", root), ("cache", cache)) if v is not None})
    return fields


def _console():
    from rich.console import Console

    return Console()


def cmd_data_list(args) -> None:
    from vidpred.registry import dataset_names, dataset_spec

    console = _console()
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
    from vidpred.registry import dataset_spec

    cfg = _data_config(args.name, args.root, args.overrides)
    written = Written("data prepare", {"data": args.name}, f"a prepared store of {args.name}", store_record)
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[getattr(cfg, "root", None)])
    started = time.perf_counter()
    with staged_outputs() as staged:  # a store that was there stays whole until the new one is complete
        index = dataset_spec(args.name).prepare(cfg, staged.folder(args.out, written))
    seconds = time.perf_counter() - started
    store = FrameStore(args.out)
    console = _console()
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
    cfg = _data_config(args.name, args.root, args.overrides, args.cache)
    dataset = build_dataset(cfg, args.split)
    check_not_empty(dataset, cfg, args.split)
    shown = min(args.n, len(dataset))
    label = getattr(dataset, "clip_id", lambda i: f"clip {i}")
    with staged_outputs() as staged:
        rows = [GridRow(dataset[i], label(i), num_context=args.context) for i in range(shown)]
        write_grid(staged.file(args.out), rows, fps=args.fps)
    print(f"wrote {count(shown, args.split + ' clip')} of {args.name} to {args.out}")


def _predictor(name_or_folder: str, device: str, **fields):
    """A predictor from a run folder (``pretrained/NAME`` found from anywhere) or a registered name (built with
    ``fields``). A pipeline whose training stages are not all finished refuses to predict with a sentence (its
    ``_predict``)."""
    from vidpred.models.io import model_folder, resolve_model
    from vidpred.registry import model_spec

    folder = model_folder(name_or_folder)
    if folder is not None:
        return resolve_model(str(folder), device)
    if "/" in name_or_folder or name_or_folder.startswith("."):  # meant as a folder, not a registered name
        raise ConfigError(f"{name_or_folder}: no such model folder (a run folder or pretrained/NAME)")
    spec = model_spec(name_or_folder)
    if spec.build.pipeline_for(spec.config_cls(name=name_or_folder)):
        raise ConfigError(f"{name_or_folder} trains in stages and cannot predict untrained; give the folder of a "
                          f"trained run (`vidpred train`) or of a pretrained pipeline (pretrained/)")
    return resolve_model(name_or_folder, device, **fields)


def _protocol_predictor(name_or_folder: str, device: str, protocol, data_cfg):
    """A predictor for ``protocol`` on ``data_cfg`` (the protocol's data with the user's overrides): a registered
    name is built for those frames, the protocol's context and horizon; a saved model folder keeps its own config."""
    return _predictor(name_or_folder, device, channels=data_cfg.channels, image_size=data_cfg.image_size,
                      num_context=protocol.context, num_predicted=protocol.horizon)


def cmd_evaluate(args) -> None:
    from vidpred.eval.protocol import (EvalSettings, check_evaluation, custom_protocol, evaluate, get_protocol,
                                       protocol_data_config)
    from vidpred.eval.report import BASELINES, BASELINES_DIR, compare, earlier_evaluation, write_results
    from vidpred.models.io import model_key

    data_overrides = _data_fields(args.overrides, args.root, args.cache)
    protocol = custom_protocol(get_protocol(args.protocol), args.context, args.horizon, data_overrides)
    written = Written("evaluate", {"model": model_key(args.model), "protocol": protocol.name},
                      f"an evaluation of {args.model} under {protocol.name}", earlier_evaluation)
    output_folder(args.out, written=written, overwrite=args.overwrite,
                  inputs=[args.model if Path(args.model).exists() else None, args.root, args.cache])
    check_device(args.device)
    data_cfg = protocol_data_config(protocol, data_overrides)
    settings = EvalSettings(num_samples=args.samples, max_sequences=args.sequences, batch_size=args.batch_size,
                            seed=args.seed, device=args.device, lpips_weights=args.lpips_weights,
                            i3d_weights=args.i3d_weights, data_overrides=data_overrides, max_minutes=args.max_minutes)
    model = _protocol_predictor(args.model, args.device, protocol, data_cfg)
    # the same sequences for blank and copy-last, so every comparison shows them; built and checked before any
    # prediction, for the protocol's frames (colour protocols have colour baselines)
    baselines = {name: _protocol_predictor(name, args.device, protocol, data_cfg)
                 for name in BASELINES if args.model != name}
    for predictor in (model, *baselines.values()):
        check_evaluation(predictor, protocol, settings)
    log = lambda line: print(f"vidpred: {line}", file=sys.stderr, flush=True)  # noqa: E731
    with staged_outputs() as staged:
        out = staged.folder(args.out, written)
        evaluation = evaluate(model, protocol, settings, model_label=args.model, log=log)
        write_results(evaluation, out)
        scores = {}
        if args.model not in BASELINES:
            # the sequences the model was scored on, all of them (a time budget applies to the model alone)
            same = dataclasses.replace(settings, max_sequences=evaluation["results"]["n_sequences"], max_minutes=None)
            for name, baseline in baselines.items():
                result = evaluate(baseline, protocol, same, model_label=name)
                write_results(result, out / BASELINES_DIR / name)
                scores[name] = result["results"]
            compare([out], out / "comparison")
    report = Path(args.out) / ("comparison" if scores else "") / "report.html"
    results = evaluation["results"]
    console = _console()
    console.print(f"[bold]{args.model}[/bold] on {protocol.name}: {results['n_sequences']} sequences x "
                  f"{count(results['n_samples'], 'sample')}, {results['seconds']} s", highlight=False)
    if results.get("stopped"):
        console.print(f"  [yellow]{results['stopped']}[/yellow]", highlight=False)
    for metric, entry in results["metrics"].items():
        best, mean = entry["best"], entry["mean"]
        console.print(f"  {metric:>14}: best {best['mean']:.4f} ± {best['ci95']:.4f}   "
                      f"mean {mean['mean']:.4f} ± {mean['ci95']:.4f}", highlight=False)
    if results.get("fvd") is not None:
        console.print(f"  {'fvd':>14}: {results['fvd']:.2f}", highlight=False)
    for metric, why in results["unavailable"].items():
        console.print(f"  [yellow]{metric} not computed[/yellow]: {why}", highlight=False)
    for name, r in scores.items():
        console.print(f"  baseline {name}: " + ", ".join(f"{metric} {entry['best']['mean']:.4f}"
                                                          for metric, entry in r["metrics"].items()), highlight=False)
    console.print(f"wrote {report}", highlight=False)


def cmd_report(args) -> None:
    from vidpred.eval.report import compare

    folders = [str(Path(f).resolve()) for f in args.folders]
    written = Written("report", {"folders": sorted(folders)}, f"a comparison of {', '.join(args.folders)}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=args.folders)
    with staged_outputs() as staged:
        compare(args.folders, staged.folder(args.out, written))
    print(f"wrote {Path(args.out) / 'report.html'}")


def cmd_models(args) -> None:
    from vidpred.models.catalogue import catalogue

    console = _console()
    entries = catalogue()
    console.print("[bold]vidpred models[/bold] (`vidpred train` a config naming one, or `model: {preset: NAME}`)\n")
    for model in entries["models"]:
        console.print(f"[bold]{model['name']}[/bold]  ({model['training']})", highlight=False)
        console.print(f"    {model['description']}", highlight=False)
        for preset in model["presets"]:
            console.print(f"    preset [bold]{preset['name']}[/bold]: {preset['parameters']:,} parameters", highlight=False)
    console.print("\n[bold]pretrained folders[/bold] (`vidpred predict FOLDER ...`)")
    for folder in entries["pretrained"]:
        console.print(f"[bold]{folder['path']}[/bold]  {folder['model']}, {folder['megabytes']} MB", highlight=False)
        for protocol, metrics in folder["metrics"].items():
            console.print(f"    {protocol}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                    for k, v in metrics.items()), highlight=False)


def cmd_train(args) -> None:
    import yaml

    from vidpred.config import to_dict
    from vidpred.models.io import WEIGHTS_FILE
    from vidpred.training.config import load_experiment

    cfg = load_experiment(args.config, args.overrides)
    if args.print_config:
        print(yaml.safe_dump(to_dict(cfg), sort_keys=False), end="")
        return
    from vidpred.training.runner import train

    folder = train(cfg, fresh=args.fresh)
    print(f"trained {cfg.name}: weights in {folder / WEIGHTS_FILE}")


def _run_model(run: Path, doing: str):
    """The model of a run folder: its published weights, or -- a run that has not finished training -- its last
    checkpoint, said in a note on stderr (``doing``: what the command does with it)."""
    from vidpred.models.io import WEIGHTS_FILE, load_model
    from vidpred.training.config import last_checkpoint

    if not (run / WEIGHTS_FILE).is_file() and last_checkpoint(run).is_file():
        from vidpred.training.runner import model_from_checkpoint

        model, step = model_from_checkpoint(run)
        print(f"vidpred: note: {run} has not finished training; {doing} its last checkpoint (step {step})",
              file=sys.stderr)
        return model
    return load_model(run)


def cmd_export(args) -> None:
    from vidpred.config import read_yaml
    from vidpred.models.io import CONFIG_FILE, WEIGHTS_FILE, save_model

    run = _existing_run(args.run)
    written = Written("export", {"run": str(run.resolve())}, f"the export of {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run])
    model = _run_model(run, "exporting")
    config = read_yaml(run / CONFIG_FILE)
    with staged_outputs() as staged:
        save_model(model, staged.folder(args.out, written), config=config, half=args.half)
    out = Path(args.out)
    size = (out / WEIGHTS_FILE).stat().st_size + (out / CONFIG_FILE).stat().st_size
    print(f"exported {args.run} -> {out} ({size / 1e6:.1f} MB{', float16 weights' if args.half else ''})")


def _existing_run(text: str) -> Path:
    """The run or model folder ``text`` names (``pretrained/NAME`` from anywhere), or one sentence."""
    from vidpred.models.io import model_folder

    folder = model_folder(text)
    if folder is None:
        raise ConfigError(f"{text}: no such run folder (a trained run or pretrained/NAME)")
    return folder


def cmd_predict(args) -> None:
    from vidpred.inference import predict_to_file
    from vidpred.io.grid import GRID_SUFFIXES

    inputs = [args.input, args.model]
    output_file(args.out, GRID_SUFFIXES, inputs=inputs)
    if args.frames_out:
        output_file(args.frames_out, (".npy",), "--frames-out", inputs=inputs)
    model = _predictor(args.model, check_device(args.device))
    trained_on = getattr(model, "trained_on", None)  # a model loaded from a folder knows its training data
    with staged_outputs() as staged:
        notes = predict_to_file(model, args.input, staged.file(args.out), args.context, args.horizon, args.samples,
                                args.seed, args.temperature, args.frames_out and staged.file(args.frames_out),
                                data_fields=_data_fields(args.overrides, None, None), start=args.start,
                                trained_on=trained_on, shown_as=args.out)
    for note in notes:
        print(note)


def _tokenizer(run: str, device: str):
    """The trained tokenizer of a run folder of any staged VQ model (``models/tokenizer.py`` protocol)."""
    from vidpred.models.io import load_model

    model = load_model(run, device)
    if model.pipeline is None:
        raise ConfigError(f"{run} holds a {model.config.name} model, which has no tokenizer")
    if int(model.stages_trained) < 1:
        raise ConfigError(f"the tokenizer of {run} has not finished training")
    return getattr(model, model.pipeline.tokenizer)


def _run_data(run: str) -> tuple[str | None, dict]:
    """The data set a run folder's config.yaml names and its settings there (without the cache path): (None, {})
    where it names none."""
    from vidpred.config import read_yaml
    from vidpred.models.io import CONFIG_FILE

    saved = read_yaml(Path(run) / CONFIG_FILE) if Path(run, CONFIG_FILE).is_file() else {}
    data = saved.get("data") if isinstance(saved, dict) else None
    if not isinstance(data, dict) or "name" not in data:
        return None, {}
    return data["name"], {k: v for k, v in data.items() if k not in ("name", "cache")}


def cmd_uncertainty(args) -> None:
    from vidpred.data import data_config
    from vidpred.eval.uncertainty import prior_uncertainty, write_uncertainty

    run = _existing_run(args.run)
    written = Written("uncertainty", {"run": str(run.resolve())}, f"the prior uncertainty of {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run])
    model = _predictor(str(run), check_device(args.device))
    trained, fields = _run_data(run)
    # the run's own data settings (digits, size) when it trained on this data set, over 100 frames by default
    fields = fields if trained == args.data else {}
    cfg = data_config(args.data, **{**fields, **_data_fields([f"num_frames={args.frames}", *args.overrides], None, None)})
    with staged_outputs() as staged:
        result = prior_uncertainty(model, cfg, sequences=args.sequences, seed=args.seed, device=args.device)
        files = write_uncertainty(result, staged.folder(args.out, written))
    ratio = result["peak_ratio"]
    print(f"{result['sequences']} sequences, {result['frames']} frames: the learned prior's sigma on the frames after "
          f"wall hits is {ratio:.2f}x its mean elsewhere" if ratio is not None else
          "the trajectory has no wall hit: draw another with --seed")
    print(f"wrote {args.out}: {', '.join(files)}")


def cmd_elbo(args) -> None:
    from vidpred.data import data_config
    from vidpred.eval.elbo import elbo_report, training_kl_curves, write_elbo
    from vidpred.models.io import CONFIG_FILE

    run = _existing_run(args.run)
    written = Written("elbo", {"run": str(run.resolve())}, f"the ELBO of {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run])
    check_device(args.device)
    model = _run_model(run, "measuring")
    trained, fields = _run_data(run)
    if trained is None:
        raise ConfigError(f"{args.run}/{CONFIG_FILE} names no data set; the ELBO is measured on the run's own data")
    cfg = data_config(trained, **{**fields, **_data_fields(args.overrides, None, None)})
    with staged_outputs() as staged:
        result = elbo_report(model, cfg, sequences=args.sequences, seed=args.seed, device=args.device)
        files = write_elbo(result, training_kl_curves(run, model.levels), staged.folder(args.out, written))
    for split in ("train", "test"):
        r = result["splits"][split]
        print(f"{split}: negative ELBO {r['elbo']:.1f} nats per video ({r['sequences']} clips; NLL {r['nll']:.1f}, KL "
              + ", ".join(f"level {k} {v:.1f}" for k, v in r["kl_per_level"].items()) + ")")
    print(f"wrote {args.out}: {', '.join(files)}")


def cmd_reconstruct(args) -> None:
    from vidpred.data import build_dataset
    from vidpred.eval.reconstruction import reconstruction_report

    run = _existing_run(args.run)
    written = Written("reconstruct", {"run": str(run.resolve()), "data": args.data},
                      f"the reconstructions of {args.data} by {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run, args.root, args.cache])
    tokenizer = _tokenizer(run, check_device(args.device))
    dataset = build_dataset(_data_config(args.data, args.root, args.overrides, args.cache), "test")
    with staged_outputs() as staged:
        result = reconstruction_report(tokenizer, dataset, staged.folder(args.out, written), count=args.clips,
                                       device=args.device, per_layer=args.per_layer)
    m, b, first = result["metrics"], result["bit_budget"], tokenizer.levels[0]
    print(f"{result['clips']} test clips: PSNR {m['psnr']['mean']:.2f} ± {m['psnr']['ci95']:.2f} dB, "
          f"SSIM {m['ssim']['mean']:.4f}, SSIM (uniform7) {m['ssim_uniform7']['mean']:.4f}; "
          f"{first} level only: PSNR {m[f'psnr_{first}_only']['mean']:.2f} dB")
    for level, c in result["codes"].items():
        print(f"  {level} codes: {c['used']}/{c['of']} used, perplexity {c['perplexity']:.1f}")
    if args.per_layer:
        print("  PSNR from the first k levels: " + ", ".join(
            f"{k}: {m[f'psnr_first_{k}_levels']['mean']:.2f} dB" for k in range(1, len(tokenizer.levels) + 1)))
    print(f"  compression ratio: {result['compression_ratio']:.2f} (pixel bits / latent bits)")
    print(f"  bit budget: {b['latent_bits']:.0f} latent bits / {b['pixel_bits']} pixel bits = {100 * b['ratio']:.2f}% "
          f"({100 * (1 - b['ratio']):.1f}% fewer bits)")
    print(f"wrote {args.out}")


def cmd_encode(args) -> None:
    from vidpred.data import build_dataset
    from vidpred.data.base import check_split
    from vidpred.training.codes import encode_dataset

    run = _existing_run(args.run)
    written = Written("encode", {"run": str(run.resolve()), "data": args.data},
                      f"the codes of {args.data} by {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run, args.root, args.cache])
    tokenizer = _tokenizer(run, check_device(args.device))
    cfg = _data_config(args.data, args.root, args.overrides, args.cache)
    splits = args.splits.split(",")
    for split in splits:
        check_split(split)
    with staged_outputs() as staged:  # every split's codes, or none
        out = staged.folder(args.out, written)
        for split in splits:
            dataset = build_dataset(cfg, split)
            clips = args.train_clips if split == "train" else None
            info = encode_dataset(tokenizer, dataset, out, split, count=clips, device=args.device,
                                  context_frames=args.context_frames)
            print(f"{split}: {info['clips']} clips -> " + ", ".join(
                f"{args.out}/{split}_{level}.npy {shape}" for level, shape in info["shapes"].items()))


def cmd_demo(args) -> None:
    from vidpred.demo import PRETRAINED, earlier_demo, run_demo

    models = [_existing_run(m) for m in args.model] if args.model else list(PRETRAINED)
    written = Written("demo", {"models": sorted(str(m.resolve()) for m in models)},
                      "the demo of " + ", ".join(m.name for m in models), earlier_demo)
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=models)
    with staged_outputs() as staged:
        run_demo(staged.folder(args.out, written), models, sequences=args.sequences, samples=args.samples,
                 num_test=args.num_test, shown_as=Path(args.out))


def _study_source(text: str, device: str, protocol, data_cfg):
    """A side of a study: a folder of predicted videos (a folder without a model's config.yaml), or a model (a
    registered name built for the protocol's frames, a saved model or run folder)."""
    from vidpred.models.io import CONFIG_FILE, model_folder
    from vidpred.study.create import Source

    folder = model_folder(text)
    if folder is not None and not (folder / CONFIG_FILE).is_file():
        return Source(text, folder=folder)
    return Source(text, model=_protocol_predictor(text, device, protocol, data_cfg))


def cmd_study_create(args) -> None:
    from vidpred.eval.protocol import custom_protocol, get_protocol, protocol_data_config
    from vidpred.study.create import create_study
    from vidpred.study.store import DATABASE_FILE, StudyStore

    data_overrides = _data_fields(args.overrides, args.root, args.cache)
    protocol = custom_protocol(get_protocol(args.protocol), data_overrides=data_overrides)
    if (Path(args.study_dir) / DATABASE_FILE).exists():
        raise ConfigError(f"{args.study_dir} holds a study already; give a new folder")
    sides = [side for side in (args.a, args.b) if Path(side).exists()]
    output_folder(args.study_dir, "STUDY_DIR", new=True, inputs=[*sides, args.root, args.cache])
    check_device(args.device)
    data_cfg = protocol_data_config(protocol, data_overrides)
    a = _study_source(args.a, args.device, protocol, data_cfg)
    b = _study_source(args.b, args.device, protocol, data_cfg)
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
    print(f"{results['judgements']} judgements by {count(results['raters'], 'rater')} on {count(results['pairs'], 'pair')}: "
          + ", ".join(f"{name} {table[c]['count']} ({100 * (table[c]['share'] or 0):.1f}%)"
                      for c, name in (("a", f"prefer A ({results['a']})"), ("b", f"prefer B ({results['b']})"),
                                      ("indifferent", "indifferent"))))
    print(f"wrote {out / 'results.md'}, results.json and results.png")


def _add_overwrite(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="write into an output folder that holds something else (entries of the same name are replaced, "
                        "the rest kept); without it such a folder is refused")


def _add_data_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", help="folder of the raw data set (KTH, BAIR, video_folder)")
    p.add_argument("--cache", help="a store written by `vidpred data prepare`, read instead of the raw files")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="vidpred", description="vidpred: stochastic video prediction. Data sets, training, prediction, evaluation and reports.",
        epilog="Run `vidpred VERB --help` for each verb.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

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
    _add_overwrite(p)
    p.set_defaults(func=cmd_data_prepare, takes_overrides=True)

    p = data_verbs.add_parser(
        "show", help="write a grid of clips (.gif animated, .png static, .mp4)", epilog=EPILOG,
        usage="vidpred data show NAME [--root PATH | --cache DIR] [--split test] [--n 8] [--context K] "
              "--out FILE [key=value ...]",
        description="Write a labelled grid of clips: rows are clips, columns are time.")
    p.add_argument("name", help="data set name (see `vidpred data list`)")
    _add_data_source(p)
    p.add_argument("--split", default="test", choices=("train", "test"))
    p.add_argument("--n", type=positive_int, default=8, help="number of clips (default 8)")
    p.add_argument("--context", type=non_negative_int, default=0, help="colour the first K frames as context (default 0)")
    p.add_argument("--fps", type=positive_float, default=4.0, help="frames per second of the animation (default 4)")
    p.add_argument("--out", required=True, help="output file: .gif, .png or .mp4")
    p.set_defaults(func=cmd_data_show, takes_overrides=True)

    p = verbs.add_parser(
        "train", help="train a model from a YAML config (resumes a killed run)", epilog=EPILOG.replace(
            "num_digits=1 image_size=128", "trainer.max_steps=500 data.num_digits=1"),
        usage="vidpred train CONFIG.yaml [--fresh] [--print-config] [key=value ...]",
        description="Train the model a config describes into runs/<name>/. Running the same command again resumes "
                    "from the last checkpoint (optimizer, scheduler, step, data position, random state); finished "
                    "stages are skipped. Scale with trainer.devices, trainer.num_nodes, trainer.strategy=ddp and "
                    "trainer.precision=bf16-mixed.")
    p.add_argument("config", help="YAML config (see configs/)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint (the default)")
    p.add_argument("--fresh", action="store_true", help="delete the run folder and start over")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved config (every key, presets expanded) and exit without training")
    p.set_defaults(func=cmd_train, takes_overrides=True)

    p = verbs.add_parser("models", help="registered models, their presets and the pretrained folders",
                         description="List the registered models with their kind of training, their named presets "
                                     "with parameter counts, and the pretrained folders with their recorded metrics.")
    p.set_defaults(func=cmd_models)

    p = verbs.add_parser(
        "predict", help="predict the future of a video with a trained model",
        epilog="key=value pairs after the options configure the data set of a data:NAME input (e.g. num_test=100).",
        description="Read a video (file, frame folder, or data:NAME[:INDEX] for a test clip), fit it to the model's "
                    "frames (centre crop, resize, grey/RGB), predict from its K frames from --start and write a "
                    "grid: the ground truth (when the input is long enough) and each sample. Only the frames "
                    "needed are decoded, scaled down while decoding.")
    p.add_argument("model", help="a run folder (config.yaml + model.safetensors) or a registered model name")
    p.add_argument("--input", required=True, help="clip.mp4, a folder of frames, or data:NAME[:INDEX]")
    p.add_argument("--start", help="where the context begins: a frame index (120) or a time (4.5s); default 0")
    p.add_argument("--context", type=positive_int, help="context frames (default: the model's training context)")
    p.add_argument("--horizon", type=positive_int, help="frames to predict (default: the model's training horizon)")
    p.add_argument("--samples", type=positive_int, default=1, help="samples to draw (default 1)")
    p.add_argument("--out", required=True, help="output grid: .mp4, .gif or .png")
    p.add_argument("--frames-out", help="also save the predicted frames as .npy (samples, horizon, C, H, W)")
    p.add_argument("--temperature", type=positive_float, default=1.0, help="sampling temperature (stochastic models)")
    p.add_argument("--seed", type=int, help="random seed for reproducible samples")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=cmd_predict, takes_overrides=True)

    p = verbs.add_parser(
        "export", help="copy a trained model (config + weights) into a folder to share",
        usage="vidpred export RUN_DIR --out DIR [--half]",
        description="Write a trained model's config.yaml and model.safetensors into DIR (e.g. pretrained/NAME); "
                    "--half stores the weights as float16, half the size (loading casts them back to float32). A "
                    "single-stage run stopped before it finished (Ctrl-C) is exported from its last checkpoint.")
    p.add_argument("run", help="a run folder or saved model")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--half", action="store_true", help="store floating-point weights as float16")
    _add_overwrite(p)
    p.set_defaults(func=cmd_export)

    p = verbs.add_parser(
        "reconstruct", help="reconstruction quality, code usage and bit budget of a trained tokenizer",
        epilog=EPILOG, usage="vidpred reconstruct RUN_DIR --data NAME --out DIR [options] [key=value ...]",
        description="Encode and decode test clips with the trained tokenizer of a staged VQ model: a grid (original | "
                    "reconstruction | first level only), PSNR/SSIM, a code-usage histogram, the bit budget and "
                    "the compression ratio.")
    p.add_argument("run", help="a run folder of a staged VQ model (e.g. video_vqvae) whose tokenizer stage is finished")
    p.add_argument("--data", required=True, help="data set name")
    _add_data_source(p)
    p.add_argument("--clips", type=positive_int, default=256, help="test clips to reconstruct (default 256)")
    p.add_argument("--per-layer", action="store_true",
                   help="draw (and score) the reconstructions from the first 1, 2, ..., n levels (S-HR-VQVAE Fig. 5)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--device", default="cpu")
    _add_overwrite(p)
    p.set_defaults(func=cmd_reconstruct, takes_overrides=True)

    p = verbs.add_parser(
        "elbo", help="a latent-variable model's ELBO (nats per video, train/test) and the KL of each latent level",
        epilog=EPILOG, usage="vidpred elbo RUN_DIR --out DIR [--sequences N] [key=value ...]",
        description="Measure the negative ELBO in nats per video (the improved VRNN slides' units) on the first N "
                    "training and test clips of the run's data set, with the KL of each latent level per predicted "
                    "frame -- a level whose KL stays near zero is unused -- and, from the run's training log, over "
                    "training: PNG, CSV and JSON.")
    p.add_argument("run", help="a trained VRNN run folder (or pretrained/NAME)")
    p.add_argument("--sequences", type=positive_int, default=256, help="clips per split (default 256)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the posterior draws (default 0)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--device", default="cpu")
    _add_overwrite(p)
    p.set_defaults(func=cmd_elbo, takes_overrides=True)

    p = verbs.add_parser(
        "uncertainty", help="the learned prior's uncertainty at wall hits (SVG Fig. 6)", epilog=EPILOG,
        usage="vidpred uncertainty RUN_DIR --data stochastic_moving_mnist --out DIR [options] [key=value ...]",
        description="Feed many Stochastic Moving MNIST sequences that share one trajectory (different test digits) "
                    "to an SVG-LP model's learned prior and plot its mean sigma per frame, with the frames after the "
                    "true wall hits marked (Denton & Fergus 2018, Fig. 6): PNG, CSV and JSON.")
    p.add_argument("run", help="a trained SVG-LP run folder (or pretrained/NAME)")
    p.add_argument("--data", default="stochastic_moving_mnist", choices=["stochastic_moving_mnist"],
                   help="the data set whose wall hits are known (default stochastic_moving_mnist)")
    p.add_argument("--sequences", type=positive_int, default=500, help="sequences (default 500, as the paper)")
    p.add_argument("--frames", type=positive_int, default=100, help="frames per sequence (default 100, as the paper)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the shared trajectory (default 0)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--device", default="cpu")
    _add_overwrite(p)
    p.set_defaults(func=cmd_uncertainty, takes_overrides=True)

    p = verbs.add_parser(
        "encode", help="write the codes of a data set (for prior training)", epilog=EPILOG,
        usage="vidpred encode RUN_DIR --data NAME --out DIR [--splits train,test] [key=value ...]",
        description="Encode every clip of the chosen splits with a trained tokenizer into uint16 code arrays "
                    "({split}_top.npy, {split}_bottom.npy) with an index of the clips they came from.")
    p.add_argument("run", help="a run folder of a staged VQ model (e.g. video_vqvae) whose tokenizer stage is finished")
    p.add_argument("--data", required=True, help="data set name")
    _add_data_source(p)
    p.add_argument("--splits", default="train,test", help="comma-separated splits (default train,test)")
    p.add_argument("--train-clips", type=positive_int, default=10000,
                   help="training clips to encode; generated data sets have no end (default 10000)")
    p.add_argument("--context-frames", type=positive_int,
                   help="also encode each clip's first N frames on their own (what the priors condition on)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--device", default="cpu")
    _add_overwrite(p)
    p.set_defaults(func=cmd_encode, takes_overrides=True)

    p = verbs.add_parser(
        "evaluate", help="evaluate a model under a paper's protocol", epilog=EPILOG + " They set data fields.",
        usage="vidpred evaluate --model NAME_OR_DIR --protocol P --out DIR [options] [key=value ...]",
        description="Evaluate a model under a named protocol (data set, context, horizon, metrics, samples): "
                    "writes metrics.json, per_frame.csv, curves, sample grids and a self-contained report.html.")
    p.add_argument("--model", required=True, help="a registered model name (e.g. copy_last) or a saved model folder")
    p.add_argument("--protocol", required=True, help="one of: mmnist-10-10, kth-10-20, kth-10-10-64, "
                   "smmnist-5-10, bair-2-10, bair-2-28, kinetics-4-12")
    p.add_argument("--out", required=True, help="output folder")
    _add_data_source(p)
    p.add_argument("--context", type=positive_int,
                   help="context frames, for a custom protocol on the protocol's data (recorded as custom)")
    p.add_argument("--horizon", type=positive_int,
                   help="frames to predict, for a custom protocol on the protocol's data (recorded as custom)")
    p.add_argument("--samples", type=positive_int, help="samples per sequence for stochastic models (default: the protocol's, 100)")
    p.add_argument("--sequences", type=positive_int, help="evaluate only the first N test sequences (default: all)")
    p.add_argument("--max-minutes", type=positive_float,
                   help="stop after the batch that passes this much time; the sequences done are the evaluation "
                        "(recorded as such), and the baselines are scored on the same ones")
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--lpips-weights", help="torchvision AlexNet state dict (alexnet-owt-7be5be79.pth) for LPIPS")
    p.add_argument("--i3d-weights", help="Kinetics-400 I3D state dict (i3d_pretrained_400.pt) for FVD")
    _add_overwrite(p)
    p.set_defaults(func=cmd_evaluate, takes_overrides=True)

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
    p.add_argument("--a", required=True, help="model A: a registered name, a model or run folder, or a folder of videos")
    p.add_argument("--b", required=True, help="model B: the same kinds as --a")
    p.add_argument("--protocol", required=True, help="the protocol whose test contexts are used (e.g. mmnist-10-10)")
    p.add_argument("--clips", type=positive_int, required=True, help="contexts to compare (the paper: up to 30)")
    p.add_argument("--samples", type=positive_int, default=1, help="samples of each model per context (default 1)")
    _add_data_source(p)
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
    _add_overwrite(p)
    p.set_defaults(func=cmd_study_results)

    p = verbs.add_parser("report", help="compare several evaluations of one protocol",
                         description="One table and overlaid per-frame curves for evaluation folders of one protocol.")
    p.add_argument("folders", nargs="+", help="folders written by `vidpred evaluate`")
    p.add_argument("--out", required=True, help="output folder for report.html")
    _add_overwrite(p)
    p.set_defaults(func=cmd_report)

    p = verbs.add_parser("demo", help="the main job run by `make demo`",
                         description="The pretrained models predict clips of the test set of the data they were "
                                     "trained on (Moving MNIST, Stochastic Moving MNIST): a GIF of their "
                                     "predictions, metrics beside copy-last and blank, report.html.")
    p.add_argument("--out", default="outputs/demo", help="output folder (default outputs/demo)")
    p.add_argument("--model", action="append",
                   help="a model folder trained on Moving MNIST or SM-MNIST; repeat for several (default: every "
                        "model in pretrained/)")
    p.add_argument("--sequences", type=positive_int, default=16, help="test clips to predict (default 16)")
    p.add_argument("--samples", type=positive_int, default=3, help="samples per clip (default 3)")
    p.add_argument("--num-test", type=positive_int, default=10000,
                   help="sequences in the Moving MNIST test set (default 10000, the standard size)")
    _add_overwrite(p)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # key=value overrides may stand anywhere after the verb, so they are collected from what argparse leaves.
    args, extra = parser.parse_known_args(argv)
    args.overrides = [e for e in extra if "=" in e and not e.startswith("-")]
    unknown = [e for e in extra if e not in args.overrides]
    if unknown or (args.overrides and not getattr(args, "takes_overrides", False)):
        parser.error(f"unrecognized arguments: {' '.join(unknown or args.overrides)}")
    from vidpred.data.base import DataError
    from vidpred.eval.weights import WeightsUnavailable
    from vidpred.io.video import VideoReadError
    from vidpred.training.errors import NonFiniteLoss

    # a warning meant for the user (e.g. frames left out of the context) is one line, not a source location
    import warnings

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
        done = ("run the same command again to resume from the last checkpoint" if args.verb == "train" else
                "nothing was written, and what was there before is as it was")
        print(f"\nvidpred: interrupted; {done}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
