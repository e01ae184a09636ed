"""Saved models on the Hugging Face Hub: ``hf://ORG/NAME`` names a vidpred model folder (``config.yaml`` +
``model.safetensors``, as ``vidpred export`` writes it) at the top of a Hub repository, ``hf://ORG/NAME@REVISION``
at a branch, tag or commit, ``hf://ORG/NAME/SUBFOLDER`` (or ``...@REVISION/SUBFOLDER``) in a folder of it.

Only a model folder's files are fetched (``FILES``), by ``huggingface_hub.snapshot_download`` into the cache it
keeps for every library (``HF_HUB_CACHE``, by default ``~/.cache/huggingface/hub``); with ``HF_HUB_OFFLINE=1`` the
cached copy is used and nothing is asked of the network. The folder is then loaded like any other: a safe YAML
reader and safetensors, so nothing in a downloaded repository is executed. ``huggingface_hub`` is an optional
dependency (``pip install 'vidpred[hub]'``); every failure -- the package missing, no such repository or revision,
no network and nothing cached, a repository that holds no vidpred model -- is one sentence saying what to do.
"""
from __future__ import annotations

import re
from pathlib import Path

from vidpred.config import ConfigError

PREFIX = "hf://"
FILES = ("config.yaml", "model.safetensors", "metrics.json", "README.md")
_NAME = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[^/]+))?(?:/(?P<subfolder>.+))?$")


def is_hub_name(text) -> bool:
    return isinstance(text, str) and text.startswith(PREFIX)


def parse(text: str) -> tuple[str, str | None, str]:
    """``hf://ORG/NAME[@REVISION][/SUBFOLDER]`` -> (repository id, revision or None, subfolder or "")."""
    found = _NAME.match(text)
    if not found or ".." in (found["subfolder"] or "").split("/"):
        raise ConfigError(f"{text}: a Hub model is named hf://ORG/NAME, hf://ORG/NAME@REVISION or "
                          "hf://ORG/NAME[@REVISION]/SUBFOLDER")
    return found["repo"], found["revision"], (found["subfolder"] or "").strip("/")


def hub_folder(text: str) -> Path:
    """The local folder (in the Hugging Face cache) holding the model that ``text`` names, downloaded if needed."""
    repo, revision, subfolder = parse(text)
    try:
        from huggingface_hub import errors as hub_errors
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConfigError(f"{text}: loading from the Hugging Face Hub needs the huggingface_hub package: "
                          "pip install 'vidpred[hub]'") from None
    at = f" at revision {revision!r}" if revision else ""
    try:
        snapshot = snapshot_download(repo, revision=revision, library_name="vidpred",
                                     allow_patterns=[f"{subfolder}/{f}" if subfolder else f for f in FILES])
    except hub_errors.RevisionNotFoundError:
        raise ConfigError(f"{text}: the repository {repo} has no revision {revision!r}; give a branch, tag or "
                          "commit it has") from None
    except hub_errors.GatedRepoError:
        raise ConfigError(f"{text}: the repository {repo} is gated: accept its terms on huggingface.co and log in "
                          "with `hf auth login`") from None
    except hub_errors.RepositoryNotFoundError:
        raise ConfigError(f"{text}: no repository {repo} on the Hugging Face Hub (check the name; a private one "
                          "needs `hf auth login`)") from None
    except hub_errors.LocalEntryNotFoundError:
        raise ConfigError(f"{text}: {repo}{at} is not in the Hugging Face cache and the Hub cannot be reached "
                          "(no network, or HF_HUB_OFFLINE is set); load it once while online") from None
    except (hub_errors.HfHubHTTPError, OSError) as err:
        raise ConfigError(f"{text}: the Hugging Face Hub could not be read ({err}); try again, or load a folder") \
            from None
    folder = Path(snapshot) / subfolder
    missing = [f for f in FILES[:2] if not (folder / f).is_file()]
    if missing:
        where = f"its folder {subfolder!r}" if subfolder else "its top folder"
        raise ConfigError(f"{text}: the repository {repo}{at} holds no vidpred model in {where} (no "
                          f"{' or '.join(missing)}); `vidpred export RUN --out DIR` writes such a folder")
    return folder
