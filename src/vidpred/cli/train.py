"""Training and sharing models: ``vidpred models``, ``vidpred train``, ``vidpred export``."""
from __future__ import annotations

from pathlib import Path

from vidpred.cli.common import EPILOG, add_overwrite, existing_run, rich_console, run_model
from vidpred.io.outputs import Written, output_folder, staged_outputs


def cmd_models(args) -> None:
    from vidpred.models.catalogue import catalogue

    console = rich_console()
    entries = catalogue()
    console.print("[bold]vidpred models[/bold] (`vidpred train` a config naming one, or `model: {preset: NAME}`)\n")
    for model in entries["models"]:
        console.print(f"[bold]{model['name']}[/bold]  ({model['training']})", highlight=False)
        console.print(f"    {model['description']}", highlight=False)
        for preset in model["presets"]:
            console.print(f"    preset [bold]{preset['name']}[/bold]: {preset['parameters']:,} parameters",
                          highlight=False)
    console.print("\n[bold]pretrained folders[/bold] (`vidpred predict FOLDER ...`)")
    for folder in entries["pretrained"]:
        console.print(f"[bold]{folder['path']}[/bold]  {folder['model']}, {folder['megabytes']} MB", highlight=False)
        for protocol, metrics in folder["metrics"].items():
            console.print(f"    {protocol}: " + _scores(metrics), highlight=False)
            for name, scores in metrics.get("baselines", {}).items():
                console.print(f"      {name} on the same sequences: " + _scores(scores), highlight=False)


def _scores(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in metrics.items() if k != "baselines")


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


def cmd_export(args) -> None:
    from vidpred.config import read_yaml
    from vidpred.models.card import write_card_files
    from vidpred.models.io import CONFIG_FILE, WEIGHTS_FILE, save_model

    run = existing_run(args.run)
    written = Written("export", {"run": str(run.resolve())}, f"the export of {args.run}")
    output_folder(args.out, written=written, overwrite=args.overwrite, inputs=[run])
    model = run_model(run, "exporting")
    config = read_yaml(run / CONFIG_FILE)
    with staged_outputs() as staged:
        out = staged.folder(args.out, written)
        save_model(model, out, config=config, half=args.half)
        write_card_files(run, out)
    out = Path(args.out)
    size = (out / WEIGHTS_FILE).stat().st_size + (out / CONFIG_FILE).stat().st_size
    print(f"exported {args.run} -> {out} ({size / 1e6:.1f} MB{', float16 weights' if args.half else ''}; "
          f"its model card: {out / 'README.md'})")


def add_parsers(verbs) -> None:
    """Add ``models``, ``train``, ``export`` to the ``vidpred`` parser's verbs."""
    p = verbs.add_parser("models", help="registered models, their presets and the pretrained folders",
                         description="List the registered models with their kind of training, their named presets "
                                     "with parameter counts, and the pretrained folders with their recorded metrics.")
    p.set_defaults(func=cmd_models)

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

    p = verbs.add_parser(
        "export", help="copy a trained model (config + weights) into a folder to share",
        usage="vidpred export RUN_DIR --out DIR [--half]",
        description="Write a trained model's config.yaml and model.safetensors into DIR (e.g. pretrained/NAME), "
                    "with a model card (README.md, the Hugging Face Hub's format), the run's metrics.json and a sample "
                    "picture when it has them: `hf upload ORG/NAME DIR` publishes it. --half stores the weights as "
                    "float16, half the size (loading casts them back to float32). A single-stage run stopped before "
                    "it finished (Ctrl-C) is exported from its last checkpoint.")
    p.add_argument("run", help="a run folder or saved model")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--half", action="store_true", help="store floating-point weights as float16")
    add_overwrite(p)
    p.set_defaults(func=cmd_export)
