"""Models named hf://ORG/NAME[@REVISION][/SUBFOLDER] load from a real Hugging Face cache without a network
(HF_HUB_OFFLINE=1; the cache laid out here as huggingface_hub lays it out), and each way it can fail is one
sentence."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vidpred.config import ConfigError
from vidpred.models import hub
from vidpred.models.io import PRETRAINED_DIR

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TAGGED = "89abcdef0123456789abcdef0123456789abcdef"


def cached_repo(cache: Path, repo: str, commit: str, files: dict[str, Path | str], ref: str = "main") -> Path:
    """A repository in the cache's own layout: models--ORG--NAME/{refs/REF, snapshots/COMMIT/...}."""
    root = cache / ("models--" + repo.replace("/", "--"))
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / ref).write_text(commit)
    for name, source in files.items():
        target = root / "snapshots" / commit / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copy(source, target)
        else:
            target.write_text(source)
    return root


@pytest.fixture
def cache(tmp_path):
    vrnn = PRETRAINED_DIR / "smmnist_vrnn"
    model = {f: vrnn / f for f in ("config.yaml", "model.safetensors", "metrics.json")}
    cached_repo(tmp_path, "someone/smmnist_vrnn", COMMIT, model)
    cached_repo(tmp_path, "someone/zoo", TAGGED, {f"vrnn/{f}": p for f, p in model.items()}, ref="v1")
    cached_repo(tmp_path, "someone/not_a_model", COMMIT, {"README.md": "# hello"})
    return tmp_path


def run_offline(cache: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_a_hub_model_loads_from_the_cache_offline_at_a_revision_and_in_a_subfolder(cache, tmp_path):
    code = f"""
import json, torch, vidpred
from vidpred.cli import main
top = vidpred.load("hf://someone/smmnist_vrnn")
sub = vidpred.load("hf://someone/zoo@v1/vrnn")
same = all(torch.equal(a, b) for a, b in zip(top.state_dict().values(), sub.state_dict().values()))
future = vidpred.predict(top, torch.rand(5, 1, 64, 64), horizon=3, num_samples=2, seed=0)
code = main(["predict", "hf://someone/zoo@v1/vrnn", "--input", "{tmp_path / 'missing.mp4'}", "--out", "{tmp_path / 'x.gif'}"])
print(json.dumps({{"same": same, "shape": list(future.shape), "name": top.config.name, "cli": code}}))
"""
    done = run_offline(cache, code)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"same": True, "shape": [2, 3, 1, 64, 64], "name": "vrnn", "cli": 2}
    # the CLI resolved the Hub name and got as far as the input, which does not exist: its sentence, not the Hub's
    assert "missing.mp4" in done.stderr and "hf://" not in done.stderr.splitlines()[-1]


def test_each_failure_is_one_sentence_offline(cache):
    code = """
import vidpred
for name in ("hf://someone/absent", "hf://someone/smmnist_vrnn@v9", "hf://someone/not_a_model",
             "hf://someone/zoo@v1/elsewhere", "hf://no-slash"):
    try:
        vidpred.load(name)
    except Exception as err:
        print(type(err).__name__, "|", err)
"""
    done = run_offline(cache, code)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("ConfigError | ") for line in lines), done.stdout + done.stderr
    absent, revision, not_model, elsewhere, malformed = lines
    assert "is not in the Hugging Face cache" in absent and "load it once while online" in absent
    assert "someone/smmnist_vrnn at revision 'v9' is not in the Hugging Face cache" in revision
    assert "holds no vidpred model in its top folder (no config.yaml or model.safetensors)" in not_model
    assert "holds no vidpred model in its folder 'elsewhere'" in elsewhere
    assert "a Hub model is named hf://ORG/NAME" in malformed


@pytest.mark.parametrize("error, says", [
    ("RepositoryNotFoundError", "no repository someone/x on the Hugging Face Hub"),
    ("RevisionNotFoundError", "has no revision 'v2'; give a branch, tag or commit it has"),
    ("GatedRepoError", "is gated: accept its terms"),
    ("HfHubHTTPError", "the Hugging Face Hub could not be read"),
])
def test_answers_of_the_hub_become_one_sentence(monkeypatch, error, says):
    import httpx2
    import huggingface_hub
    from huggingface_hub import errors

    response = httpx2.Response(404, request=httpx2.Request("GET", "https://huggingface.co/api/models/someone/x"))

    def refuse(*args, **kwargs):
        raise getattr(errors, error)("refused", response=response)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse)
    with pytest.raises(ConfigError, match=says):
        hub.hub_folder("hf://someone/x@v2")


def test_names_are_parsed():
    assert hub.parse("hf://org/name") == ("org/name", None, "")
    assert hub.parse("hf://org/name@v1.0/sub/dir") == ("org/name", "v1.0", "sub/dir")
    with pytest.raises(ConfigError):
        hub.parse("hf://org/name/../../etc")
