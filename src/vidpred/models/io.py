"""Building models from configs, and saving / loading them as self-describing folders.

A saved model is a folder holding ``config.yaml`` (its ``model:`` section is the resolved model config) and
``model.safetensors`` (the weights and buffers). Loading rebuilds the model from these two files alone and
never unpickles anything.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from vidpred.config import ConfigError, atomic_write_text, from_dict, read_yaml, to_dict
from vidpred.models.base import ModelConfig, Predictor
from vidpred.models.hub import hub_folder, is_hub_name
from vidpred.models.registry import model_spec

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.safetensors"
DATA_STATS = "data_stats"  # config.yaml's record of the training data's intensity (``data.base.intensity_stats``)


def model_config(name: str, **fields) -> ModelConfig:
    """The config of model ``name`` with ``fields`` set (checked like a YAML config)."""
    return from_dict(model_spec(name).config_cls, {"name": name, **fields}, "model")


def build_model(cfg: ModelConfig | str, **fields) -> Predictor:
    """A freshly initialised model from its config (or its registered name plus fields)."""
    if isinstance(cfg, str):
        cfg = model_config(cfg, **fields)
    return model_spec(cfg.name).build(cfg)


def save_model(model: Predictor, folder: str | Path, config: dict | None = None, half: bool = False) -> Path:
    """Write ``config.yaml`` (``config`` with the model section set) and ``model.safetensors``, atomically.
    ``half`` stores floating-point tensors as float16 (half the size; loading casts them back to float32)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    full = dict(config or {})
    full["model"] = to_dict(model.config)
    tmp = folder / f".{WEIGHTS_FILE}.tmp"
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_file(state, str(tmp))
    tmp.chmod(0o666 & ~_umask())  # safetensors writes owner-only; weights are shared like every other output
    tmp.replace(folder / WEIGHTS_FILE)
    atomic_write_text(folder / CONFIG_FILE, yaml.safe_dump(full, sort_keys=False))
    return folder


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def saved_model_config(folder: str | Path) -> ModelConfig:
    """The model config of the model saved in ``folder`` (checked like a YAML config)."""
    folder = model_folder(folder) or Path(folder)
    if (folder / CONFIG_FILE).is_file() and not (folder / WEIGHTS_FILE).is_file():
        raise ConfigError(f"{folder} holds no {WEIGHTS_FILE}: a run writes it when it finishes training (run its "
                          "`vidpred train` command again to go on)")
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise ConfigError(f"{folder} is not a saved model: it needs {CONFIG_FILE} and {WEIGHTS_FILE}")
    saved = read_yaml(folder / CONFIG_FILE)
    section = saved.get("model") if isinstance(saved, dict) else None
    if not isinstance(section, dict) or "name" not in section:
        raise ConfigError(f"{folder / CONFIG_FILE} has no model section with a name")
    return from_dict(model_spec(section["name"]).config_cls, section, "model")


def check_same_model(config: ModelConfig, folder: str | Path) -> None:
    """Refuse, naming the differing keys, when the model saved in ``folder`` is not built like ``config``."""
    mine, theirs = to_dict(config), to_dict(saved_model_config(folder))
    differ = sorted(key for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key))
    if differ:
        raise ConfigError(f"{folder} holds a model with another config ({', '.join(differ)} differ)")


def load_weights(model: Predictor, folder: str | Path) -> Predictor:
    """Copy the weights saved in ``folder`` into ``model``, which must be built like the saved one."""
    check_same_model(model.config, folder)
    return _copy_weights(model, model_folder(folder) or Path(folder))


def _copy_weights(model: Predictor, folder: Path) -> Predictor:
    from safetensors.torch import load_file

    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except Exception as err:  # safetensors raises its own SafetensorError (and OSError) on a damaged file
        raise ConfigError(f"{folder / WEIGHTS_FILE} is not a readable safetensors file ({err}); "
                          "it may be damaged or truncated: copy or export it again") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ConfigError(f"{folder / WEIGHTS_FILE} does not match the config: missing {missing[:4]}, "
                          f"unexpected {unexpected[:4]}")
    model.load_state_dict(state)  # float16 exports are cast to the parameters' float32
    return model


def load_model(folder: str | Path, device: str = "cpu") -> Predictor:
    """Rebuild a model saved by :func:`save_model` from its folder."""
    # built from the saved config itself, so there is nothing for load_weights' config check to compare
    folder = model_folder(folder) or Path(folder)
    model = _copy_weights(build_model(saved_model_config(folder)), folder).to(device).eval()
    model.trained_on = training_data(folder)  # what prediction and evaluation compare their input with
    return model


def training_data(folder: str | Path) -> dict | None:
    """What the model saved in ``folder`` was trained on, from its config.yaml: the data set's name and channels
    and, where the run measured them, its intensity statistics (``data_stats``); None if the config names no data."""
    saved = read_yaml(Path(folder) / CONFIG_FILE)
    data = saved.get("data") if isinstance(saved, dict) else None
    if not isinstance(data, dict) or "name" not in data:
        return None
    stats = saved.get(DATA_STATS)
    return {"name": data["name"], "channels": data.get("channels"), **(stats if isinstance(stats, dict) else {})}


def resolve_model(name_or_folder: str, device: str = "cpu", **fields) -> Predictor:
    """A saved model folder if ``name_or_folder`` is one (``pretrained/NAME`` from anywhere), else the registered
    model of that name."""
    if model_folder(name_or_folder) is not None:
        return load_model(name_or_folder, device)
    return build_model(name_or_folder, **fields).to(device).eval()


PRETRAINED_DIR = Path(__file__).resolve().parents[3] / "pretrained"  # the checkout's bundled models


def model_folder(name_or_folder: str | Path) -> Path | None:
    """The folder ``name_or_folder`` names: an existing folder, ``hf://ORG/NAME[@REVISION][/SUBFOLDER]`` on the
    Hugging Face Hub (``models/hub.py``: fetched into its cache), or -- from any working directory --
    ``pretrained/NAME`` of the checkout vidpred runs from; None when it names no folder."""
    if is_hub_name(name_or_folder):
        return hub_folder(str(name_or_folder))
    path = Path(name_or_folder).expanduser()
    if path.is_dir():
        return path
    parts = path.parts
    if len(parts) == 2 and parts[0] == "pretrained" and (PRETRAINED_DIR / parts[1]).is_dir():
        return PRETRAINED_DIR / parts[1]
    return None


def model_key(name_or_folder: str) -> str:
    """How an output records the model it is about: a folder by its absolute path, a Hub model by its hf:// name, a
    registered model by name."""
    if is_hub_name(name_or_folder):
        return name_or_folder
    folder = model_folder(name_or_folder)
    return str(folder.resolve()) if folder is not None else str(name_or_folder)
