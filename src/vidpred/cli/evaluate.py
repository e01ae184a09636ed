"""Scoring under a paper's protocol: ``vidpred evaluate`` and ``vidpred report``."""
from __future__ import annotations

import dataclasses
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
    rich_console,
)
from vidpred.io.outputs import Written, count, output_folder, staged_outputs


def cmd_evaluate(args) -> None:
    from vidpred.eval.protocol import (
        EvalSettings,
        check_evaluation,
        custom_protocol,
        evaluate,
        get_protocol,
        protocol_data_config,
    )
    from vidpred.eval.report import BASELINES, BASELINES_DIR, compare, earlier_evaluation, write_results
    from vidpred.models.io import model_key

    data_overrides = data_fields(args.overrides, args.root, args.cache)
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
    model = protocol_predictor(args.model, args.device, protocol, data_cfg)
    # the same sequences for blank and copy-last, so every comparison shows them; built and checked before any
    # prediction, for the protocol's frames (colour protocols have colour baselines)
    baselines = {name: protocol_predictor(name, args.device, protocol, data_cfg)
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
    console = rich_console()
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


def add_parsers(verbs) -> None:
    """Add ``evaluate``, ``report`` to the ``vidpred`` parser's verbs."""
    p = verbs.add_parser(
        "evaluate", help="evaluate a model under a paper's protocol", epilog=EPILOG + " They set data fields.",
        usage="vidpred evaluate --model NAME_OR_DIR --protocol P --out DIR [options] [key=value ...]",
        description="Evaluate a model under a named protocol (data set, context, horizon, metrics, samples): "
                    "writes metrics.json, per_frame.csv, curves, sample grids and a self-contained report.html.")
    p.add_argument("--model", required=True,
                   help="a registered model name (e.g. copy_last), a saved model folder or hf://ORG/NAME")
    p.add_argument("--protocol", required=True, help="one of: mmnist-10-10, kth-10-20, kth-10-10-64, "
                   "smmnist-5-10, bair-2-10, bair-2-28, kinetics-4-12")
    p.add_argument("--out", required=True, help="output folder")
    add_data_source(p)
    p.add_argument("--context", type=positive_int,
                   help="context frames, for a custom protocol on the protocol's data (recorded as custom)")
    p.add_argument("--horizon", type=positive_int,
                   help="frames to predict, for a custom protocol on the protocol's data (recorded as custom)")
    p.add_argument("--samples", type=positive_int,
                   help="samples per sequence for stochastic models (default: the protocol's, 100)")
    p.add_argument("--sequences", type=positive_int, help="evaluate only the first N test sequences (default: all)")
    p.add_argument("--max-minutes", type=positive_float,
                   help="stop after the batch that passes this much time; the sequences done are the evaluation "
                        "(recorded as such), and the baselines are scored on the same ones")
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--lpips-weights", help="torchvision AlexNet state dict (alexnet-owt-7be5be79.pth) for LPIPS")
    p.add_argument("--i3d-weights", help="Kinetics-400 I3D state dict (i3d_pretrained_400.pt) for FVD")
    add_overwrite(p)
    p.set_defaults(func=cmd_evaluate, takes_overrides=True)

    p = verbs.add_parser("report", help="compare several evaluations of one protocol",
                         description="One table and overlaid per-frame curves for evaluation folders of one protocol.")
    p.add_argument("folders", nargs="+", help="folders written by `vidpred evaluate`")
    p.add_argument("--out", required=True, help="output folder for report.html")
    add_overwrite(p)
    p.set_defaults(func=cmd_report)
