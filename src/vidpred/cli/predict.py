"""Predicting: ``vidpred predict`` (a video, frames or a test clip) and ``vidpred demo`` (the main job)."""
from __future__ import annotations

from pathlib import Path

from vidpred.cli.common import (
    add_overwrite,
    check_device,
    data_fields,
    existing_run,
    load_predictor,
    positive_float,
    positive_int,
)
from vidpred.io.outputs import Written, output_file, output_folder, staged_outputs


def cmd_predict(args) -> None:
    from vidpred.inference import predict_to_file
    from vidpred.io.grid import GRID_SUFFIXES

    inputs = [args.input, args.model]
    output_file(args.out, GRID_SUFFIXES, inputs=inputs)
    if args.frames_out:
        output_file(args.frames_out, (".npy",), "--frames-out", inputs=inputs)
    model = load_predictor(args.model, check_device(args.device))
    trained_on = getattr(model, "trained_on", None)  # a model loaded from a folder knows its training data
    with staged_outputs() as staged:
        notes = predict_to_file(model, args.input, staged.file(args.out), args.context, args.horizon, args.samples,
                                args.seed, args.temperature, args.frames_out and staged.file(args.frames_out),
                                data_fields=data_fields(args.overrides, None, None), start=args.start,
                                trained_on=trained_on, shown_as=args.out)
    for note in notes:
        print(note)


def cmd_demo(args) -> None:
    from vidpred.demo import PRETRAINED, earlier_demo, run_demo

    models = [existing_run(m) for m in args.model] if args.model else list(PRETRAINED)
    written = Written("demo", {"models": sorted(str(m.resolve()) for m in models)},
                      "the demo of " + ", ".join(m.name for m in models), earlier_demo)
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=models)
    with staged_outputs() as staged:
        run_demo(staged.folder(args.out, written), models, sequences=args.sequences, samples=args.samples,
                 num_test=args.num_test, shown_as=Path(args.out))


def add_parsers(verbs) -> None:
    """Add ``predict``, ``demo`` to the ``vidpred`` parser's verbs."""
    p = verbs.add_parser(
        "predict", help="predict the future of a video with a trained model",
        epilog="key=value pairs after the options configure the data set of a data:NAME input (e.g. num_test=100).",
        description="Read a video (file, frame folder, or data:NAME[:INDEX] for a test clip), fit it to the model's "
                    "frames (centre crop, resize, grey/RGB), predict from its K frames from --start and write a "
                    "grid: the ground truth (when the input is long enough) and each sample. Only the frames "
                    "needed are decoded, scaled down while decoding.")
    p.add_argument("model", help="a run folder (config.yaml + model.safetensors), hf://ORG/NAME on the Hugging Face "
                   "Hub, or a registered model name")
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
    add_overwrite(p)
    p.set_defaults(func=cmd_demo)
