"""Walker et al.'s Video VQ-VAE tokenizer and its EMA quantiser."""
import math

import pytest
import torch

from vidpred.models.video_vqvae import VideoVQVAE, VideoVQVAEConfig
from vidpred.nn.quantize import EMAVectorQuantizer


def test_ema_update_equals_eq3_on_a_hand_computed_example():
    vq = EMAVectorQuantizer(num_codes=2, dim=1, beta=0.25, decay=0.5, eps=0.0, restart_after=0)
    vq.embedding.copy_(torch.tensor([[0.0], [10.0]]))
    vq.embed_sum.copy_(torch.tensor([[0.0], [10.0]]))
    vq.cluster_size.copy_(torch.tensor([1.0, 1.0]))
    z = torch.tensor([[1.0], [2.0], [9.0]])  # two vectors map to code 0, one to code 1
    vq.train()
    out = vq(z)
    assert out.codes.tolist() == [0, 0, 1]
    # N = 0.5 * 1 + 0.5 * n: N0 = 0.5 + 1 = 1.5, N1 = 0.5 + 0.5 = 1.0
    assert torch.allclose(vq.cluster_size, torch.tensor([1.5, 1.0]))
    # m = 0.5 * m + 0.5 * sum z: m0 = 0 + 0.5 * 3 = 1.5, m1 = 5 + 0.5 * 9 = 9.5
    assert torch.allclose(vq.embed_sum, torch.tensor([[1.5], [9.5]]))
    # e = m / N (eps = 0: no smoothing): e0 = 1.0, e1 = 9.5
    assert torch.allclose(vq.embedding, torch.tensor([[1.0], [9.5]]))
    # the batch was quantised with the codebook before the update; commitment = beta * mean (z - e)^2
    assert torch.allclose(out.quantized, torch.tensor([[0.0], [0.0], [10.0]]))
    assert out.commitment.item() == pytest.approx(0.25 * (1 + 4 + 1) / 3)


def test_straight_through_gradient_reaches_the_encoder_and_commitment_has_beta():
    vq = EMAVectorQuantizer(num_codes=4, dim=3, beta=0.7, restart_after=0).eval()
    z = torch.randn(5, 3, requires_grad=True)
    out = vq(z)
    out.quantized.sum().backward()
    assert torch.equal(z.grad, torch.ones(5, 3))  # identity gradient through the quantiser
    e = vq.lookup(out.codes)
    assert out.commitment.item() == pytest.approx(0.7 * ((z.detach() - e) ** 2).mean().item(), rel=1e-6)


def test_dead_codes_are_restarted_and_usage_recovers():
    torch.manual_seed(0)
    collapsed = EMAVectorQuantizer(num_codes=16, dim=2, restart_after=0).train()
    restarted = EMAVectorQuantizer(num_codes=16, dim=2, restart_after=3).train()
    for vq in (collapsed, restarted):  # every code far from the data but one: collapse by construction
        vq.embedding.copy_(torch.full((16, 2), 50.0))
        vq.embedding[0] = 0.0
        vq.embed_sum.copy_(vq.embedding)
    for _ in range(30):
        data = torch.randn(256, 2) * 3
        usage_collapsed = collapsed(data).usage.item()
        usage_restarted = restarted(data).usage.item()
    assert usage_collapsed == pytest.approx(1 / 16)
    assert usage_restarted > 0.75


@pytest.mark.parametrize("restart_from", ["any", "poorly_quantised"])
def test_dead_codes_restart_from_the_vectors_the_codebook_serves_worst(restart_from):
    """[fidelity] 7: a batch that is 90% one vector the codebook already holds (Moving MNIST's background) and 10%
    strokes far from every codeword. Restarting from any row re-seeds dead codes mostly with the background;
    weighted by quantisation error, only with strokes, each with a different one."""
    torch.manual_seed(0)
    vq = EMAVectorQuantizer(num_codes=8, dim=2, restart_after=1, restart_from=restart_from).train()
    vq.embedding.copy_(torch.full((8, 2), 50.0))
    vq.embedding[0] = 0.0
    vq.embed_sum.copy_(vq.embedding)
    strokes = torch.randn(10, 2) + 5.0
    flat = torch.cat([torch.zeros(90, 2), strokes])
    vq(flat)
    restarted = vq.embedding[1:]
    from_strokes = (torch.cdist(restarted, strokes).min(1).values < 1e-3).sum().item()
    if restart_from == "poorly_quantised":
        assert from_strokes == 7 and len(set(map(tuple, restarted.tolist()))) == 7
    else:
        assert from_strokes <= 3  # 7 draws from 100 rows of which 10 are strokes


def test_latent_shapes_of_every_preset():
    from vidpred.models.presets import video_vqvae_kth64, video_vqvae_mmnist, walker_kinetics_256

    kinetics = walker_kinetics_256().tokenizer
    assert kinetics.top_shape == (4, 32, 32) and kinetics.bottom_shape == (8, 64, 64)
    assert video_vqvae_mmnist().tokenizer.top_shape == (4, 8, 8)
    assert video_vqvae_mmnist().tokenizer.bottom_shape == (8, 16, 16)
    for preset in (video_vqvae_mmnist().tokenizer, video_vqvae_kth64().tokenizer):
        model = VideoVQVAE(preset).eval()
        video = torch.rand(2, preset.num_frames, preset.channels, preset.image_size, preset.image_size)
        codes = model.encode(video)
        assert codes["top"].shape == (2, *preset.top_shape) and codes["bottom"].shape == (2, *preset.bottom_shape)
        # the tokenizer protocol (models/tokenizer.py) says the same
        assert model.levels == ("top", "bottom") and model.time_strides == {"top": 4, "bottom": 2}
        for level in model.levels:
            assert model.latent_shape(level, preset.num_frames) == codes[level].shape[1:]
        assert model.latent_shape("top", 8) == (2, 8, 8)  # the context frames alone


def test_walker_kinetics_256_forward_backward_at_batch_1_and_bit_budget():
    from vidpred.models.presets import walker_kinetics_256

    cfg = walker_kinetics_256().tokenizer
    assert (cfg.hidden, cfg.residual, cfg.layers, cfg.num_codes, cfg.code_dim, cfg.beta) == (128, 32, 2, 512, 64, 0.25)
    model = VideoVQVAE(cfg).train()
    out = model(torch.rand(1, 16, 3, 256, 256))
    out.loss.backward()
    assert out.recon.shape == (1, 16, 3, 256, 256)
    assert model.enc_bottom[0].weight.grad is not None
    budget = model.bit_budget()
    assert model.bits_per_code == {"top": 9.0, "bottom": 9.0}
    assert budget["latent_bits"] == (32 * 32 * 4 + 64 * 64 * 8) * math.log2(512)
    assert budget["ratio"] == pytest.approx(0.0132, abs=1e-4)  # the paper's > 98% reduction


def test_training_masks_the_bottom_path_per_sample():
    model = VideoVQVAE(VideoVQVAEConfig(hidden=16, residual=8, mask_bottom_prob=1.0)).eval()
    video = torch.rand(2, 16, 1, 64, 64)
    top, bottom = model._encode(video)
    masked = model._decode(top.quantized, bottom.quantized, torch.zeros(2, dtype=torch.bool))
    other_bottom = model._decode(top.quantized, torch.randn_like(bottom.quantized), torch.zeros(2, dtype=torch.bool))
    assert torch.equal(masked, other_bottom)  # with the mask, the bottom latent has no influence
    top_only = model.decode({"top": top.codes})
    assert torch.allclose(top_only, masked.clamp(0, 1), atol=1e-6)
    unmasked = model._decode(top.quantized, bottom.quantized)
    assert not torch.equal(unmasked, masked)
    model.train()  # with probability 1, training zeroes the bottom path of every sample
    assert torch.allclose(model(video).recon, masked.clamp(0, 1), atol=1e-6)


def test_encode_decode_equals_forward_in_eval_and_round_trip_keeps_codebooks(tmp_path):
    from safetensors.torch import load_file, save_file

    model = VideoVQVAE(VideoVQVAEConfig(hidden=16, residual=8)).train()
    for _ in range(2):  # move the codebooks away from their initial values
        model(torch.rand(2, 16, 1, 64, 64))
    model.eval()
    video = torch.rand(2, 16, 1, 64, 64)
    codes = model.encode(video)
    assert torch.allclose(model.decode(codes), model(video).recon, atol=1e-6)
    save_file(model.state_dict(), str(tmp_path / "m.safetensors"))
    again = VideoVQVAE(VideoVQVAEConfig(hidden=16, residual=8)).eval()
    again.load_state_dict(load_file(str(tmp_path / "m.safetensors")))
    assert torch.equal(again.vq_top.embedding, model.vq_top.embedding)
    assert torch.equal(again.vq_bottom.cluster_size, model.vq_bottom.cluster_size)
    assert torch.equal(again.decode(codes), model.decode(codes))


@pytest.mark.parametrize("sees_top", [True, False])
def test_the_bottom_is_quantised_given_the_decoded_top_as_vq_vae_2_does(sees_top):
    """[fidelity 6] VQ-VAE-2 (which Walker et al. §3.1 follow) quantises the bottom from the encoder's features
    together with the decoded top; with ``bottom_sees_top: false`` (the shipped CPU model) the levels are apart."""
    torch.manual_seed(0)
    model = VideoVQVAE(VideoVQVAEConfig(image_size=32, num_frames=8, hidden=8, residual=4, layers=1, num_codes=16,
                                        code_dim=4, bottom_sees_top=sees_top)).eval()
    video = torch.rand(2, 8, 1, 32, 32)
    bottom_inputs = []
    model.pre_bottom.register_forward_hook(lambda mod, args, out: bottom_inputs.append(out.detach().clone()))
    model.encode(video)
    handle = model.vq_top.register_forward_hook(lambda mod, args, out: type(out)(**{
        **vars(out), "quantized": out.quantized + 1.0}))  # the top's quantised latent moves, nothing else
    model.encode(video)
    handle.remove()
    assert torch.equal(bottom_inputs[0], bottom_inputs[1]) != sees_top
    assert hasattr(model, "dec_top") == sees_top
