"""What the documentation shows is what the code does: the README's table of the shipped models is the one their
metrics.json files give, and the example model of "Adding a model" trains and predicts as the page says."""
import re
from pathlib import Path

import torch

import vidpred
from vidpred.models.catalogue import pretrained_folders, results_markdown
from vidpred.models.registry import MODELS

ROOT = Path(__file__).parents[1]


def test_the_readme_table_of_the_shipped_models_is_their_metrics():
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- results:start[^>]*-->\n(.*?)\n<!-- results:end -->", text, re.S)
    expected = results_markdown(pretrained_folders()).rstrip("\n")
    assert found, "README.md has no <!-- results:start --> ... <!-- results:end --> block"
    assert found.group(1) == expected, f"README.md's results block should read:\n{expected}"


def test_the_example_model_of_adding_a_model_registers_trains_and_predicts():
    page = (ROOT / "docs" / "adding-a-model.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", page, re.S)
    try:
        exec(compile(code, "adding-a-model.md", "exec"), {})  # the page's own code, as a reader would run it
        model = vidpred.load("fade")
        clip = torch.rand(20, 1, 64, 64)
        loss = model.loss(clip[None])
        loss.total.backward()
        assert model.w.grad is not None and model.w.grad.abs().sum() > 0  # it trains
        future = vidpred.predict(model, clip[:10], horizon=10, num_samples=2)
        assert future.shape == (2, 10, 1, 64, 64)
        # sigmoid(0) x the last frame (the input passes through 8-bit frames on its way in)
        assert torch.allclose(future[0], 0.5 * clip[9].expand(10, -1, -1, -1), atol=1 / 255)
    finally:
        MODELS.pop("fade", None)
