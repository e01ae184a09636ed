"""A staged VQ model's tokenizer on its own: ``vidpred reconstruct`` and ``vidpred encode``."""
from __future__ import annotations

from vidpred.cli.common import (
    EPILOG,
    add_data_source,
    add_overwrite,
    check_device,
    existing_run,
    positive_int,
    run_tokenizer,
    user_data_config,
)
from vidpred.io.outputs import Written, output_folder, staged_outputs


def cmd_reconstruct(args) -> None:
    from vidpred.data import build_dataset
    from vidpred.eval.reconstruction import reconstruction_report

    run = existing_run(args.run)
    written = Written("reconstruct", {"run": str(run.resolve()), "data": args.data},
                      f"the reconstructions of {args.data} by {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run, args.root, args.cache])
    tokenizer = run_tokenizer(run, check_device(args.device))
    dataset = build_dataset(user_data_config(args.data, args.root, args.overrides, args.cache), "test")
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

    run = existing_run(args.run)
    written = Written("encode", {"run": str(run.resolve()), "data": args.data},
                      f"the codes of {args.data} by {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run, args.root, args.cache])
    tokenizer = run_tokenizer(run, check_device(args.device))
    cfg = user_data_config(args.data, args.root, args.overrides, args.cache)
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


def add_parsers(verbs) -> None:
    """Add ``reconstruct``, ``encode`` to the ``vidpred`` parser's verbs."""
    p = verbs.add_parser(
        "reconstruct", help="reconstruction quality, code usage and bit budget of a trained tokenizer",
        epilog=EPILOG, usage="vidpred reconstruct RUN_DIR --data NAME --out DIR [options] [key=value ...]",
        description="Encode and decode test clips with the trained tokenizer of a staged VQ model: a grid (original | "
                    "reconstruction | first level only), PSNR/SSIM, a code-usage histogram, the bit budget and "
                    "the compression ratio.")
    p.add_argument("run", help="a run folder of a staged VQ model (e.g. video_vqvae) whose tokenizer stage is finished")
    p.add_argument("--data", required=True, help="data set name")
    add_data_source(p)
    p.add_argument("--clips", type=positive_int, default=256, help="test clips to reconstruct (default 256)")
    p.add_argument("--per-layer", action="store_true",
                   help="draw (and score) the reconstructions from the first 1, 2, ..., n levels (S-HR-VQVAE Fig. 5)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--device", default="cpu")
    add_overwrite(p)
    p.set_defaults(func=cmd_reconstruct, takes_overrides=True)

    p = verbs.add_parser(
        "encode", help="write the codes of a data set (for prior training)", epilog=EPILOG,
        usage="vidpred encode RUN_DIR --data NAME --out DIR [--splits train,test] [key=value ...]",
        description="Encode every clip of the chosen splits with a trained tokenizer into uint16 code arrays "
                    "({split}_top.npy, {split}_bottom.npy) with an index of the clips they came from.")
    p.add_argument("run", help="a run folder of a staged VQ model (e.g. video_vqvae) whose tokenizer stage is finished")
    p.add_argument("--data", required=True, help="data set name")
    add_data_source(p)
    p.add_argument("--splits", default="train,test", help="comma-separated splits (default train,test)")
    p.add_argument("--train-clips", type=positive_int, default=10000,
                   help="training clips to encode; generated data sets have no end (default 10000)")
    p.add_argument("--context-frames", type=positive_int,
                   help="also encode each clip's first N frames on their own (what the priors condition on)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--device", default="cpu")
    add_overwrite(p)
    p.set_defaults(func=cmd_encode, takes_overrides=True)
