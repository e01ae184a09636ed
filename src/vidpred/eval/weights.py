"""Pretrained weights that cannot be downloaded here: found from a path the user names, loaded safely.

Lookup order: the explicit path (a command-line flag), then ``$VIDPRED_WEIGHTS_DIR/<file name>``. A missing
file raises :class:`WeightsUnavailable` with the sentence that tells the user what to supply. Files are
read as safetensors or with ``torch.load(weights_only=True)``: loading never runs code from the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch


class WeightsUnavailable(RuntimeError):
    """A pretrained network's weights file was not supplied or cannot be used; the message names the file and how
    to give it, ``short`` says it in a few words for a table cell ("alexnet-owt-7be5be79.pth missing")."""

    def __init__(self, message: str, short: str | None = None):
        super().__init__(message)
        self.short = short or message


def find_weights(explicit: str | Path | None, filename: str, what: str, flag: str) -> Path:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(f"{what}: {path} does not exist", f"{path.name} missing")
        return path
    folder = os.environ.get("VIDPRED_WEIGHTS_DIR")
    if folder and (Path(folder) / filename).is_file():
        return Path(folder) / filename
    raise WeightsUnavailable(f"{what} is unavailable: supply {filename} with {flag} FILE "
                             f"or put it in $VIDPRED_WEIGHTS_DIR", f"{filename} missing")


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from .safetensors or a torch file (``weights_only=True``), on the CPU."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a TorchScript archive, a pickle with code, a corrupt file: all are refused
        raise WeightsUnavailable(f"{path} is not a plain state dict that loads with weights_only=True ({err})",
                                 f"{path.name} unusable") from err
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsUnavailable(f"{path} holds a {type(state).__name__}, not a state dict", f"{path.name} unusable")
    return state


def check_and_load(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``module`` strictly, with one sentence naming missing / mismatched keys."""
    expected = module.state_dict()
    # BatchNorm's step counter is absent from files saved by older PyTorch and never used in eval mode.
    state = {**{k: v for k, v in expected.items() if k.endswith("num_batches_tracked")}, **state}
    missing = [k for k in expected if k not in state]
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if missing or wrong:
        raise WeightsUnavailable(f"{source} does not fit: missing {missing[:4]}{'...' if len(missing) > 4 else ''}, "
                                 f"wrong shapes {wrong[:4]}", f"{Path(source).name} does not fit")
    module.load_state_dict({k: state[k] for k in expected})
