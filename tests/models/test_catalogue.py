"""The results tables of the shipped models (the site's Results page, written from their metrics.json)."""
from vidpred.models.catalogue import beats_baselines, pretrained_folders, results_markdown

BASELINES = {"blank": {"mse": 166.5, "ssim_uniform7": 0.7755}, "copy_last": {"mse": 273.0, "ssim_uniform7": 0.6577}}


def test_a_model_predicts_only_where_it_beats_both_baselines_on_every_headline_metric():
    assert beats_baselines({"mse": 150.0, "ssim_uniform7": 0.80, "baselines": BASELINES}) is True
    assert beats_baselines({"mse": 150.0, "ssim_uniform7": 0.70, "baselines": BASELINES}) is False  # SSIM < blank
    assert beats_baselines({"mse": 170.0, "ssim_uniform7": 0.80, "baselines": BASELINES}) is False  # MSE > blank
    assert beats_baselines({"mse": 150.0, "ssim_uniform7": 0.80}) is None


def test_results_table_shows_each_model_beside_its_baselines():
    folders = [{"path": "pretrained/a", "metrics": {"mmnist-10-10": {
        "sequences": 1000, "samples": 1, "mse": 150.04, "ssim_uniform7": 0.8, "baselines": BASELINES}}},
        {"path": "pretrained/b", "metrics": {"smmnist-5-10": {"sequences": 1000, "samples": 20, "ssim": 0.6}}}]
    page = results_markdown(folders)
    lines = page.splitlines()
    assert lines[0] == "**mmnist-10-10**" and "**smmnist-5-10**" in lines
    assert "| `a` | 1,000 x 1 | 150.0 | 0.8000 | **yes** |" in lines
    assert "| · blank | 1,000 x 1 | 166.5 | 0.7755 | |" in lines
    assert "| · copy_last | 1,000 x 1 | 273.0 | 0.6577 | |" in lines
    assert "| `b` | 1,000 x 20 | 0.6000 | not measured |" in lines  # only the metrics it has


def test_every_shipped_model_records_both_baselines():
    folders = pretrained_folders()
    assert len(folders) == 4
    for folder in folders:
        for protocol, entry in folder["metrics"].items():
            assert set(entry["baselines"]) == {"blank", "copy_last"}, (folder["path"], protocol)
