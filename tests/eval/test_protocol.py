import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from vidpred.config import ConfigError
from vidpred.data import build_dataset, data_config
from vidpred.eval import fvd, metrics
from vidpred.eval.protocol import PROTOCOLS, EvalSettings, best_of_n, confidence_interval, evaluate, get_protocol
from vidpred.eval.report import compare, write_results
from vidpred.models.base import LossOutput, ModelConfig, Predictor
from vidpred.models.io import build_model


@dataclass
class NoisyConfig(ModelConfig):
    name: str = "noisy_copy"


class NoisyCopy(Predictor):
    """A stochastic toy: the last context frame plus seeded noise; has a 'tokenizer' for FVD*."""
    stochastic = True

    def __init__(self, config, min_context=1):
        super().__init__(config)
        self.min_context = min_context

    def _predict(self, context, horizon, num_samples, generator, temperature):
        b = context.shape[0]
        base = context[:, -1:].unsqueeze(1).expand(b, num_samples, horizon, *context.shape[2:])
        noise = torch.rand(base.shape, generator=generator, device=context.device)
        return (base + 0.3 * noise).clamp(0, 1)

    def loss(self, batch):
        return LossOutput(batch.mean())

    def reconstruct(self, video):
        return video * 0.9


SMALL = {"num_test": 20}  # a 20-sequence test set: the tests need a few clips, not the standard 10,000


def small(protocol: str, **changes):
    return dataclasses.replace(get_protocol(protocol), **changes)


def test_best_of_n_is_per_sequence_not_per_frame():
    # sequence 0: sample 0 wins frames 0 and 1 but is worse on average; sample 1 must be chosen (lower is better)
    values = np.array([[[1.0, 1.0, 10.0], [2.0, 2.0, 2.0]]])
    index, best = best_of_n(values, higher_is_better=False)
    assert index.tolist() == [1] and best.tolist() == [[2.0, 2.0, 2.0]]
    index, best = best_of_n(values, higher_is_better=True)
    assert index.tolist() == [0] and best.tolist() == [[1.0, 1.0, 10.0]]


def test_confidence_interval_is_student_t():
    values = np.array([1.0, 2.0, 4.0, 7.0])
    mean, half = confidence_interval(values)
    expected = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert mean == pytest.approx(3.5) and half == pytest.approx(expected)
    assert np.isnan(confidence_interval(np.array([1.0]))[1])


def test_presets_name_their_ssim_convention():
    assert set(PROTOCOLS) >= {"mmnist-10-10", "kth-10-20", "kth-10-10-64", "smmnist-5-10", "bair-2-10", "bair-2-28",
                              "kinetics-4-12"}
    for protocol in PROTOCOLS.values():
        assert protocol.headline_ssim in ("ssim", "ssim_uniform7") and protocol.headline_ssim in protocol.metrics
    with pytest.raises(ConfigError, match="unknown protocol 'mmnist'; known protocols: mmnist-10-10"):
        get_protocol("mmnist")


def test_deterministic_baseline_numbers_equal_direct_computation():
    protocol = get_protocol("mmnist-10-10")
    model = build_model("copy_last")
    result = evaluate(model, protocol, EvalSettings(data_overrides=SMALL, max_sequences=5, batch_size=2), "copy_last")["results"]
    assert result["n_sequences"] == 5 and result["n_samples"] == 1
    clips = torch.stack([build_dataset(data_config("moving_mnist", **SMALL), "test")[i] for i in range(5)])
    prediction = clips[:, 9:10].expand(-1, 10, -1, -1, -1)
    direct = metrics.mse(prediction, clips[:, 10:]).mean(1)
    assert result["metrics"]["mse"]["best"]["mean"] == pytest.approx(direct.mean().item(), rel=1e-5)
    assert result["metrics"]["mse"]["mean"]["mean"] == result["metrics"]["mse"]["best"]["mean"]
    assert len(result["metrics"]["ssim_uniform7"]["best"]["per_frame"]) == 10
    assert "lpips" in result["unavailable"] and "alexnet-owt-7be5be79.pth" in result["unavailable"]["lpips"]


def test_stochastic_model_best_mean_diversity_and_reproducibility():
    protocol = small("smmnist-5-10", num_samples=6)
    model = NoisyCopy(NoisyConfig())
    run = lambda seed: evaluate(model, protocol, EvalSettings(data_overrides=SMALL, max_sequences=4, seed=seed), "noisy")["results"]  # noqa: E731
    first, again, other = run(0), run(0), run(1)
    assert first["n_samples"] == 6
    ssim, mse = first["metrics"]["ssim"], first["metrics"]["mse"]
    assert ssim["best"]["mean"] > ssim["mean"]["mean"] and mse["best"]["mean"] < mse["mean"]["mean"]
    assert len(ssim["best"]["per_frame"]) == 20 and "mean_20" in ssim["best"]  # curves out to 20 frames
    assert first["diversity"]["mse"]["mean"] > 0
    assert first["metrics"] == again["metrics"]
    assert first["metrics"]["ssim"]["best"]["mean"] != other["metrics"]["ssim"]["best"]["mean"]


def test_model_needing_more_context_than_the_protocol_gives():
    model = NoisyCopy(NoisyConfig(), min_context=12)
    with pytest.raises(ConfigError, match="the model needs at least 12 context frames; protocol mmnist-10-10 gives 10"):
        evaluate(model, get_protocol("mmnist-10-10"), EvalSettings(data_overrides=SMALL, max_sequences=1))
    rgb = build_model("copy_last", channels=3)
    with pytest.raises(ConfigError, match="the model takes 3-channel 64x64 frames; protocol mmnist-10-10 gives 1-channel"):
        evaluate(rgb, get_protocol("mmnist-10-10"), EvalSettings(data_overrides=SMALL, max_sequences=1))


def test_fvd_and_fvd_star_with_random_i3d(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDPRED_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    torch.save(fvd.InceptionI3d().state_dict(), tmp_path / "i3d.pt")
    protocol = small("mmnist-10-10", fvd=True, metrics=("mse", "ssim_uniform7"), num_samples=2)
    settings = EvalSettings(data_overrides=SMALL, max_sequences=3, i3d_weights=str(tmp_path / "i3d.pt"), batch_size=3)
    result = evaluate(NoisyCopy(NoisyConfig()), protocol, settings, "noisy")["results"]
    assert result["fvd"] > 0 and result["fvd_star"] > 0 and result["fvd"] != result["fvd_star"]
    assert result["fvd_settings"]["num_videos"] == 3 and result["fvd_settings"]["include_context"] is True
    assert len(list((tmp_path / "cache" / "fvd").glob("fvd_reference_*.npz"))) == 1
    again = evaluate(NoisyCopy(NoisyConfig()), protocol, settings, "noisy")["results"]  # reference from the cache
    assert again["fvd"] == pytest.approx(result["fvd"])
    no_weights = evaluate(build_model("copy_last"), protocol, EvalSettings(data_overrides=SMALL, max_sequences=2), "copy_last")["results"]
    assert no_weights["fvd"] is None and "i3d_pretrained_400.pt" in no_weights["unavailable"]["fvd"]


def test_report_builds_and_references_existing_files(tmp_path):
    protocol = small("smmnist-5-10", num_samples=3, metrics=("ssim", "psnr", "mse"), fvd=True)
    for name, model in (("a", NoisyCopy(NoisyConfig())), ("b", build_model("copy_last", num_context=5))):
        write_results(evaluate(model, protocol, EvalSettings(data_overrides=SMALL, max_sequences=3), name), tmp_path / name)
    folder = tmp_path / "a"
    for file in ("metrics.json", "per_frame.csv", "report.html", "curve_ssim.png", "samples_best.gif",
                 "samples_random.png"):
        assert (folder / file).is_file(), file
    page = (folder / "report.html").read_text()
    listed = re.search(r"Files: (.*?)\.</p>", page).group(1).split(", ")
    assert listed and all((folder / f).is_file() for f in listed)
    sources = re.findall(r"src='([^']+)'", page)
    # small images (the curves) are embedded; the grids of random noise are large, so they are shown from their
    # files, and the page stays small
    assert page.count("src='data:image/png") >= 3 and len(sources) >= 5
    assert all(src.startswith("data:image/") or (folder / src).is_file() for src in sources)
    assert len(page) < 400_000 and (folder / "samples_best.gif").stat().st_size > 1_000_000
    assert "best of 3" in page and "mean of 3" in page
    # a deterministic model's one prediction is not called a best or random sample
    assert (tmp_path / "b" / "samples.png").is_file() and not (tmp_path / "b" / "samples_random.png").exists()
    assert "random sample" not in (tmp_path / "b" / "report.html").read_text()
    rows = (folder / "per_frame.csv").read_text().splitlines()
    assert rows[0] == "metric,aggregate,frame,mean,ci95" and rows[1].startswith("ssim,best,6,")
    html_path = compare([tmp_path / "a", tmp_path / "b"], tmp_path / "cmp")
    assert html_path.is_file() and (tmp_path / "cmp" / "compare_ssim.png").is_file()
    compared = html_path.read_text()
    # each model links to its own report; FVD without I3D weights says which file is missing
    assert "<a href='../a/report.html'>a</a>" in compared and "<a href='../b/report.html'>b</a>" in compared
    assert compared.count("not computed: i3d_pretrained_400.pt missing") == 2 and "n/a" not in compared
    # the same clips side by side: per clip the truth and each model's prediction, with the frames each holds
    from vidpred.eval.report import load_examples
    from vidpred.io.grid import GridRow, make_grid
    from vidpred.io.video import read_video

    a, b = load_examples(tmp_path / "a"), load_examples(tmp_path / "b")
    assert list(a["ids"]) == list(b["ids"]) and len(a["ids"]) == 3 and np.array_equal(a["target"], b["target"])
    expected = make_grid([row for i in range(3) for row in (
        GridRow(np.concatenate([a["context"][i], a["target"][i]]), f"{a['ids'][i]} truth", 5),
        GridRow(np.concatenate([a["context"][i], a["best"][i]]), "a (best of 3)", 5, predicted=True),
        GridRow(np.concatenate([b["context"][i], b["best"][i]]), "b", 5, predicted=True))])
    side_by_side = read_video(tmp_path / "cmp" / "samples.png")[0].transpose(1, 2, 0)
    assert np.array_equal(side_by_side, expected)
    write_results(evaluate(build_model("copy_last"), small("mmnist-10-10", metrics=("mse",)),
                           EvalSettings(data_overrides=SMALL, max_sequences=2), "c"), tmp_path / "c")
    with pytest.raises(ConfigError, match="different protocols"):
        compare([tmp_path / "a", tmp_path / "c"], tmp_path / "cmp2")
    assert Path(html_path).read_text().count("<tr>") == 3  # header + two models


def test_perfect_frames_are_averaged_at_the_psnr_cap():
    @dataclass
    class OracleConfig(ModelConfig):
        name: str = "oracle"

    class StillDigits(Predictor):
        """Predicts the true future for the first sequence: PSNR there is infinite per frame."""
        def __init__(self, config, future):
            super().__init__(config)
            self.future = future

        def _predict(self, context, horizon, num_samples, generator, temperature):
            out = context[:, -1:].expand(-1, horizon, -1, -1, -1).clone()
            out[0] = self.future
            return out.unsqueeze(1)

        def loss(self, batch):
            return LossOutput(batch.mean())

    clips = build_dataset(data_config("moving_mnist", **SMALL), "test")
    model = StillDigits(OracleConfig(), clips[0][10:])
    result = evaluate(model, small("mmnist-10-10", metrics=("psnr",)), EvalSettings(data_overrides=SMALL, max_sequences=3),
                      "oracle")["results"]
    psnr = result["metrics"]["psnr"]
    assert psnr["frames_capped"] == 10 and psnr["cap"] == 100.0
    assert np.isfinite(psnr["best"]["mean"]) and psnr["best"]["per_frame"][0] > 30


def test_report_labels_name_model_folders_by_their_own_name_and_tell_two_of_one_name_apart():
    from pathlib import Path

    from vidpred.eval.report import _labels

    folders = [Path("eval/a"), Path("eval/b"), Path("eval/c"), Path("eval/d")]
    results = [{"model": "/root/runs/svg/lp5900"}, {"model": "runs/det"}, {"model": "copy_last"},
               {"model": "other/det"}]
    assert _labels(folders, results) == ["lp5900", "det (b)", "copy_last", "det (d)"]
