import pytest
import torch

from vidpred.data import build_dataset, data_config
from vidpred.eval.lpips import ALEXNET_FILE, LPIPS, load_lpips, torchmetrics_heads_file
from vidpred.eval.weights import WeightsUnavailable, load_state_dict_file

# torchvision's alexnet().state_dict() layout; the classifier is ignored by LPIPS (small stand-ins here).
TORCHVISION_FEATURE_SHAPES = {
    "features.0.weight": (64, 3, 11, 11), "features.0.bias": (64,),
    "features.3.weight": (192, 64, 5, 5), "features.3.bias": (192,),
    "features.6.weight": (384, 192, 3, 3), "features.6.bias": (384,),
    "features.8.weight": (256, 384, 3, 3), "features.8.bias": (256,),
    "features.10.weight": (256, 256, 3, 3), "features.10.bias": (256,),
}


def small_random_backbone(seed=0) -> dict:
    g = torch.Generator().manual_seed(seed)
    state = {k: 0.05 * torch.randn(shape, generator=g) for k, shape in TORCHVISION_FEATURE_SHAPES.items()}
    state.update({"classifier.1.weight": torch.zeros(4, 4), "classifier.6.bias": torch.zeros(4)})
    return state


@pytest.fixture
def lpips_model(tmp_path):
    torch.save(small_random_backbone(), tmp_path / ALEXNET_FILE)
    return load_lpips(tmp_path / ALEXNET_FILE)


def test_backbone_keys_match_torchvision_alexnet():
    ours = {k.removeprefix("net."): tuple(v.shape) for k, v in LPIPS().state_dict().items() if k.startswith("net.")}
    assert ours == TORCHVISION_FEATURE_SHAPES


def test_real_heads_from_torchmetrics_load(lpips_model):
    heads = load_state_dict_file(torchmetrics_heads_file())
    assert torch.equal(lpips_model.lins[2].model[1].weight, heads["lin2.model.1.weight"])
    assert torch.equal(lpips_model.net.features[3].bias, small_random_backbone()["features.3.bias"])


def test_distance_properties(lpips_model):
    frames = build_dataset(data_config("sample_clips"), "test")[0][:6]  # real pictures (6, 3, 64, 64)
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(frames.shape, generator=g)
    near = (frames + 0.03 * noise).clamp(0, 1)
    far = (frames + 0.3 * noise).clamp(0, 1)
    assert torch.allclose(lpips_model(frames, frames), torch.zeros(6), atol=1e-7)
    assert torch.allclose(lpips_model(frames, far), lpips_model(far, frames), atol=1e-6)
    assert (lpips_model(frames, far) > lpips_model(frames, near)).all()
    grey = frames.mean(1, keepdim=True)
    assert lpips_model(grey, grey.flip(0)).shape == (6,)


def test_missing_or_wrong_weights_say_which_file(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDPRED_WEIGHTS_DIR", raising=False)
    with pytest.raises(WeightsUnavailable, match="supply alexnet-owt-7be5be79.pth with --lpips-weights FILE"):
        load_lpips()
    bad = small_random_backbone()
    bad["features.3.weight"] = torch.zeros(10, 64, 5, 5)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(WeightsUnavailable, match=r"does not fit: .*features.3.weight \(10, 64, 5, 5\)"):
        load_lpips(tmp_path / "bad.pth")
    monkeypatch.setenv("VIDPRED_WEIGHTS_DIR", str(tmp_path))
    torch.save(small_random_backbone(), tmp_path / ALEXNET_FILE)
    assert isinstance(load_lpips(), LPIPS)  # found through $VIDPRED_WEIGHTS_DIR
