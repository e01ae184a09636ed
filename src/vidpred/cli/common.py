"""What the verbs share: the parser with the toolkit's error style, argument types, the options several verbs
take, and the loading of data configs, models and run folders, each failing with one sentence."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vidpred.config import ConfigError, apply_overrides


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


def add_overwrite(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="write into an output folder that holds something else (entries of the same name are replaced, "
                        "the rest kept); without it such a folder is refused")


def add_data_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", help="folder of the raw data set (KTH, BAIR, video_folder)")
    p.add_argument("--cache", help="a store written by `vidpred data prepare`, read instead of the raw files")


def user_data_config(name: str, root: str | None, overrides: list[str], cache: str | None = None):
    from vidpred.data import data_config
    from vidpred.data.registry import dataset_spec

    fields = data_fields(overrides, root, cache)
    cfg = data_config(name, **fields)
    if dataset_spec(name).needs_root and not getattr(cfg, "root", None) and not cfg.cache:
        raise ConfigError(f"data set {name!r} is read from files: give --root PATH "
                          "(or --cache DIR of a prepared store)")
    return cfg


def data_fields(overrides: list[str], root: str | None, cache: str | None) -> dict:
    """Data config fields from key=value overrides and the --root / --cache options."""
    fields = apply_overrides({}, overrides)
    fields.update({k: v for k, v in (("root", root), ("cache", cache)) if v is not None})
    return fields


def rich_console():
    from rich.console import Console

    return Console()


def load_predictor(name_or_folder: str, device: str, **fields):
    """A predictor from a run folder (``pretrained/NAME`` found from anywhere) or a registered name (built with
    ``fields``). A pipeline whose training stages are not all finished refuses to predict with a sentence (its
    ``_predict``)."""
    from vidpred.models.io import model_folder, resolve_model
    from vidpred.models.registry import model_spec

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


def protocol_predictor(name_or_folder: str, device: str, protocol, data_cfg):
    """A predictor for ``protocol`` on ``data_cfg`` (the protocol's data with the user's overrides): a registered
    name is built for those frames, the protocol's context and horizon; a saved model folder keeps its own config."""
    return load_predictor(name_or_folder, device, channels=data_cfg.channels, image_size=data_cfg.image_size,
                      num_context=protocol.context, num_predicted=protocol.horizon)


def existing_run(text: str) -> Path:
    """The run or model folder ``text`` names (``pretrained/NAME`` from anywhere), or one sentence."""
    from vidpred.models.io import model_folder

    folder = model_folder(text)
    if folder is None:
        raise ConfigError(f"{text}: no such run folder (a trained run or pretrained/NAME)")
    return folder


def run_model(run: Path, doing: str):
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


def run_data(run: str) -> tuple[str | None, dict]:
    """The data set a run folder's config.yaml names and its settings there (without the cache path): (None, {})
    where it names none."""
    from vidpred.config import read_yaml
    from vidpred.models.io import CONFIG_FILE

    saved = read_yaml(Path(run) / CONFIG_FILE) if Path(run, CONFIG_FILE).is_file() else {}
    data = saved.get("data") if isinstance(saved, dict) else None
    if not isinstance(data, dict) or "name" not in data:
        return None, {}
    return data["name"], {k: v for k, v in data.items() if k not in ("name", "cache")}


def run_tokenizer(run: str, device: str):
    """The trained tokenizer of a run folder of any staged VQ model (``models/tokenizer.py`` protocol)."""
    from vidpred.models.io import load_model

    model = load_model(run, device)
    if model.pipeline is None:
        raise ConfigError(f"{run} holds a {model.config.name} model, which has no tokenizer")
    if int(model.stages_trained) < 1:
        raise ConfigError(f"the tokenizer of {run} has not finished training")
    return getattr(model, model.pipeline.tokenizer)
