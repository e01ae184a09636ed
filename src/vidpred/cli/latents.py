"""What a latent-variable model's latents carry: ``vidpred elbo`` (VRNN) and ``vidpred uncertainty`` (SVG-LP)."""
from __future__ import annotations

from vidpred.cli.common import (
    EPILOG,
    add_overwrite,
    check_device,
    data_fields,
    existing_run,
    load_predictor,
    non_negative_int,
    positive_int,
    run_data,
    run_model,
)
from vidpred.config import ConfigError
from vidpred.io.outputs import Written, output_folder, staged_outputs


def cmd_elbo(args) -> None:
    from vidpred.data import data_config
    from vidpred.eval.elbo import elbo_report, training_kl_curves, write_elbo
    from vidpred.models.io import CONFIG_FILE

    run = existing_run(args.run)
    written = Written("elbo", {"run": str(run.resolve())}, f"the ELBO of {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run])
    check_device(args.device)
    model = run_model(run, "measuring")
    trained, fields = run_data(run)
    if trained is None:
        raise ConfigError(f"{args.run}/{CONFIG_FILE} names no data set; the ELBO is measured on the run's own data")
    cfg = data_config(trained, **{**fields, **data_fields(args.overrides, None, None)})
    with staged_outputs() as staged:
        result = elbo_report(model, cfg, sequences=args.sequences, seed=args.seed, device=args.device)
        files = write_elbo(result, training_kl_curves(run, model.levels), staged.folder(args.out, written))
    for split in ("train", "test"):
        r = result["splits"][split]
        print(f"{split}: negative ELBO {r['elbo']:.1f} nats per video ({r['sequences']} clips; NLL {r['nll']:.1f}, KL "
              + ", ".join(f"level {k} {v:.1f}" for k, v in r["kl_per_level"].items()) + ")")
    print(f"wrote {args.out}: {', '.join(files)}")


def cmd_uncertainty(args) -> None:
    from vidpred.data import data_config
    from vidpred.eval.uncertainty import prior_uncertainty, write_uncertainty

    run = existing_run(args.run)
    written = Written("uncertainty", {"run": str(run.resolve())}, f"the prior uncertainty of {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run])
    model = load_predictor(str(run), check_device(args.device))
    trained, fields = run_data(run)
    # the run's own data settings (digits, size) when it trained on this data set, over 100 frames by default
    fields = fields if trained == args.data else {}
    given = data_fields([f"num_frames={args.frames}", *args.overrides], None, None)
    cfg = data_config(args.data, **{**fields, **given})
    with staged_outputs() as staged:
        result = prior_uncertainty(model, cfg, sequences=args.sequences, seed=args.seed, device=args.device)
        files = write_uncertainty(result, staged.folder(args.out, written))
    ratio = result["peak_ratio"]
    print(f"{result['sequences']} sequences, {result['frames']} frames: the learned prior's sigma on the frames after "
          f"wall hits is {ratio:.2f}x its mean elsewhere" if ratio is not None else
          "the trajectory has no wall hit: draw another with --seed")
    print(f"wrote {args.out}: {', '.join(files)}")


def add_parsers(verbs) -> None:
    """Add ``elbo``, ``uncertainty`` to the ``vidpred`` parser's verbs."""
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
    add_overwrite(p)
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
    add_overwrite(p)
    p.set_defaults(func=cmd_uncertainty, takes_overrides=True)
