"""Model cards: ``vidpred export`` writes README.md in the Hugging Face Hub's format, which huggingface_hub's own
reader parses back to the recorded metrics; the committed pretrained folders carry theirs, current."""
import json

import pytest

from vidpred.cli import main
from vidpred.models.card import model_card
from vidpred.models.catalogue import pretrained_folders
from vidpred.models.io import PRETRAINED_DIR


def test_export_writes_a_card_the_hub_reads_back(tmp_path, capsys):
    from huggingface_hub import ModelCard

    assert main(["export", str(PRETRAINED_DIR / "smmnist_vrnn"), "--out", str(tmp_path / "vrnn")]) == 0
    assert "its model card" in capsys.readouterr().out
    card = ModelCard.load(tmp_path / "vrnn" / "README.md")
    metrics = json.loads((PRETRAINED_DIR / "smmnist_vrnn" / "metrics.json").read_text())["smmnist-5-10"]
    assert card.data.library_name == "vidpred" and card.data.datasets == ["stochastic_moving_mnist"]
    assert {r.metric_type: r.metric_value for r in card.data.eval_results} == \
        {k: metrics[k] for k in ("mse", "ssim", "psnr")}
    assert all(r.dataset_type == "stochastic_moving_mnist" for r in card.data.eval_results)
    text = card.text
    assert "| · blank | 1,000 x 1 | 198.1 | 0.6830 | 13.31 | |" in text  # the figures beside the baselines
    assert "![the model's predictions beside the truth](sample.png)" in text
    assert (tmp_path / "vrnn" / "sample.png").is_file() and (tmp_path / "vrnn" / "metrics.json").is_file()


def test_a_model_not_yet_evaluated_says_so(tmp_path):
    from vidpred.models.baselines import CopyLast, CopyLastConfig
    from vidpred.models.io import save_model

    save_model(CopyLast(CopyLastConfig(name="copy_last")), tmp_path, config={"data": {"name": "moving_mnist"}})
    card = model_card(tmp_path)
    assert "Not evaluated yet" in card and "model-index" not in card and "Trained on Moving MNIST" in card


@pytest.mark.parametrize("folder", pretrained_folders(), ids=lambda f: f["path"].rsplit("/", 1)[-1])
def test_every_pretrained_folder_carries_its_current_card(folder):
    from pathlib import Path

    path = Path(folder["path"])
    assert (path / "README.md").read_text() == model_card(path), f"regenerate {path}/README.md with model_card()"
