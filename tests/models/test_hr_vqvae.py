"""S-HR-VQVAE: the residual codebook tree (Eqs. 3-5), Table 1's compression, the ST-PixelCNN's causality and
sampling with a given context."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vidpred.models.hr_vqvae import HRVQVAE, HRVQVAEConfig, STPixelCNNPrior
from vidpred.models.presets import PRESETS, s_hr_vqvae_tiny
from vidpred.nn.quantize import ResidualTreeQuantizer


def trained_tree(layers=3, size=4, dim=3, steps=30, seed=0):
    torch.manual_seed(seed)
    tree = ResidualTreeQuantizer(layers, size, dim, decay=0.5).train()
    z = torch.randn(512, dim)
    for _ in range(steps):
        tree(z)
    return tree.eval(), z


def test_a_layer1_code_selects_the_layer2_codebook_and_e_c_is_the_sum_of_layers():
    tree, z = trained_tree()
    out = tree(z)
    layer_sum = sum(tree.lookup(out.codes[:k + 1]) - (tree.lookup(out.codes[:k]) if k else 0) for k in range(3))
    # out.quantized is the straight-through z + (e_C - z): e_C up to float rounding
    assert torch.allclose(out.quantized, layer_sum, atol=1e-6)
    assert torch.allclose(out.quantized, tree.lookup(out.codes), atol=1e-6)
    k1, k2 = torch.tensor([0]), torch.tensor([1])
    second = lambda first: tree.lookup([first, k2]) - tree.lookup([first])  # e^2 under a layer-1 code
    assert not torch.allclose(second(k1), second(torch.tensor([3])))  # another codebook, another codeword
    # codebook 0's codeword 1 ((e1 + e2) - e1: up to float rounding)
    assert torch.allclose(second(k1)[0], tree.layers[1].embedding[0 * 4 + 1], atol=1e-6)
    assert [layer.embedding.shape[0] for layer in tree.layers] == [4, 16, 64]  # M^i codewords in layer i


def test_residual_property_error_does_not_grow_with_layers():
    tree, z = trained_tree(layers=4, size=2, dim=4, steps=40)
    codes = tree(z).codes
    errors = [(z - tree.lookup(codes[:k])).pow(2).mean().item() for k in range(1, 5)]
    assert all(b <= a + 1e-6 for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.5 * errors[0]


def test_eq_4_and_5_commitments_on_a_hand_computed_example():
    tree = ResidualTreeQuantizer(2, 2, 1, betas=(0.5, 0.25, 0.1)).eval()
    tree.layers[0].embedding.copy_(torch.tensor([[0.0], [4.0]]))
    tree.layers[1].embedding.copy_(torch.tensor([[-1.0], [1.0], [-0.5], [0.5]]))  # codebooks under codes 0 and 1
    z = torch.tensor([[1.0], [3.0]])
    out = tree(z)
    # z=1: layer 1 -> 0 (e=0), residual 1, codebook 0 -> +1 (e=1): e_C = 1, codes (0, 1)
    # z=3: layer 1 -> 4, residual -1, codebook 1 -> -0.5: e_C = 3.5, codes (1, 0)
    assert [c.tolist() for c in out.codes] == [[0, 1], [1, 0]]
    assert torch.allclose(out.quantized, torch.tensor([[1.0], [3.5]]))
    layer1 = 0.25 * ((1 - 0) ** 2 + (3 - 4) ** 2) / 2  # beta_1 |xi^0 - e^1|^2
    layer2 = 0.1 * ((1 - 1) ** 2 + (-1 + 0.5) ** 2) / 2  # beta_2 |xi^1 - e^2|^2
    whole = 0.5 * ((1 - 1) ** 2 + (3 - 3.5) ** 2) / 2  # beta_0 |z - e_C|^2
    assert out.commitment.item() == pytest.approx(layer1 + layer2 + whole)


def test_table_1_compression_ratios_and_paper_sizes(capsys):
    ratios = {}
    for name in ("hr_vqvae_mmnist_1", "hr_vqvae_mmnist_3", "hr_vqvae_mmnist_6", "hr_vqvae_kth_1", "hr_vqvae_kth_3",
                 "hr_vqvae_kth_9"):
        cfg = PRESETS[name]()
        ratios[name] = 1 / HRVQVAE(cfg.tokenizer).bit_budget(1)["ratio"]
        assert cfg.tokenizer.latent_size == (32 if "kth" in name else 16)
    assert all(r == pytest.approx(64 * 64 * 8 / (16 * 16 * 6)) for n, r in ratios.items() if "mmnist" in n)  # 21.33
    assert all(r == pytest.approx(128 * 128 * 3 * 8 / (32 * 32 * 9)) for n, r in ratios.items() if "kth" in n)  # 42.67
    from vidpred.models.io import build_model

    model = build_model(PRESETS["hr_vqvae_mmnist_3"]())
    # §4.2: multi-head attention over 3D voxels in every layer's ST-PixelCNN, with a frame / row / column position
    # embedding (a per-voxel one would add ~0.5M parameters to Table 2's 1.14M)
    assert all(len(net.attention) == 2 and all(a.factorised for a in net.attention.values())
               for net in model.prior.pixelcnns)
    count = sum(p.numel() for p in model.parameters())
    with capsys.disabled():
        print(f"\nhr_vqvae_mmnist_3 (S-HR-VQVAE, Table 2 lists 1.14M): {count:,} parameters")
    kth = build_model(PRESETS["hr_vqvae_kth_3"]()).train()  # KTH at paper size: a step on a 128x128 clip
    loss = kth.loss(torch.rand(1, 30, 3, 128, 128)).total
    loss.backward()
    assert torch.isfinite(loss) and kth.tokenizer.encoder[0].weight.grad is not None
    prior_loss = kth.prior.loss({f"layer{i}": torch.randint(0, 8, (1, 30, 32, 32)) for i in (1, 2, 3)}).total
    prior_loss.backward()
    assert torch.isfinite(prior_loss)


@pytest.mark.parametrize("coarser", [False, True])
def test_st_pixelcnn_is_causal_at_middle_positions(coarser):
    cfg = s_hr_vqvae_tiny()
    cfg.prior.condition_on_coarser = coarser
    torch.manual_seed(0)
    prior = STPixelCNNPrior(cfg).eval()
    batch = {level: torch.randint(0, 4, (2, 8, 8, 8)) for level in prior.levels}
    logits, _ = prior.logits(batch)  # (B, M, layers, predicted frames, 8, 8)
    flat = logits.flatten(3)
    for layer, level in enumerate(prior.levels):
        for p in (5, 70, 130):  # positions inside the predicted frames (frame, row, column) in raster order
            changed = dict(batch)
            codes = batch[level][:, 4:].clone().flatten(1)
            codes[:, p:] = (codes[:, p:] + 1) % 4  # this position and every later one of this layer
            changed[level] = torch.cat([batch[level][:, :4], codes.view(2, 4, 8, 8)], 1)
            after = prior.logits(changed)[0].flatten(3)
            assert torch.allclose(after[:, :, layer, :p + 1], flat[:, :, layer, :p + 1], atol=1e-5)
            assert not torch.allclose(after[:, :, layer, p + 1:], flat[:, :, layer, p + 1:])
    # the finer layer sees the coarser layer's codes (its codebook) only when conditioned
    changed = dict(batch, layer1=(batch["layer1"] + 1) % 4)
    moved = not torch.allclose(prior.logits(changed)[0][:, :, 1], logits[:, :, 1])
    assert moved == coarser


@pytest.mark.parametrize("history", ["own", "all"])
def test_with_the_whole_history_a_layer_sees_every_layer_of_earlier_frames_only(history):
    cfg = s_hr_vqvae_tiny()  # 2 layers, 8 frames (4 context) of 8x8 codes, coarser conditioning on
    cfg.prior.history = history
    torch.manual_seed(0)
    prior = STPixelCNNPrior(cfg).eval()
    batch = {level: torch.randint(0, 4, (2, 8, 8, 8)) for level in prior.levels}
    logits = prior.logits(batch, first=0)[0]  # (B, M, layers, frames, 8, 8)
    frame, y, x = 5, 3, 4
    changed = dict(batch, layer2=batch["layer2"].clone())
    changed["layer2"][:, frame, y, x] = (changed["layer2"][:, frame, y, x] + 1) % 4
    after = prior.logits(changed, first=0)[0]
    assert torch.allclose(after[:, :, :, :frame], logits[:, :, :, :frame], atol=1e-5)  # earlier frames
    assert torch.allclose(after[:, :, 0, frame], logits[:, :, 0, frame], atol=1e-5)  # the coarser layer, same frame
    row = after[:, :, 1, frame].flatten(2)
    assert torch.allclose(row[:, :, :y * 8 + x + 1], logits[:, :, 1, frame].flatten(2)[:, :, :y * 8 + x + 1], atol=1e-5)
    # the next frame's layer 1 reads layer 2's codes only with the whole history
    assert (not torch.allclose(after[:, :, 0, frame + 1], logits[:, :, 0, frame + 1])) == (history == "all")


@pytest.mark.parametrize("history,attention", [("own", 2), ("all", 0)])
def test_cached_and_naive_sampling_agree_with_a_given_context_and_argmax_is_deterministic(history, attention, device):
    cfg = s_hr_vqvae_tiny()
    cfg.prior.history, cfg.prior.attention_every = history, attention  # attention 0: whole frames at once
    torch.manual_seed(1)
    prior = STPixelCNNPrior(cfg).eval().to(device)
    for p in prior.parameters():
        p.data.mul_(3)
    context = {level: torch.randint(0, 4, (2, 4, 8, 8)).to(device) for level in prior.levels}
    draws = [prior.sample(context, torch.Generator(device).manual_seed(0), cached=c) for c in (True, False)]
    for level in prior.levels:
        assert torch.equal(draws[0][level], draws[1][level])
        assert torch.equal(draws[0][level][:, :4], context[level])  # the context is kept, not drawn
    greedy = [prior.sample(context, torch.Generator(device).manual_seed(s), greedy=True) for s in (0, 1)]
    assert all(torch.equal(greedy[0][level], greedy[1][level]) for level in prior.levels)
    # sampling conditions each layer exactly as training does: every arg-max code is the arg-max of the
    # teacher-forced logits given the codes drawn
    logits, targets = prior.logits(greedy[0])
    assert torch.equal(logits.argmax(1), targets)
    assert not all(torch.equal(greedy[0][level], draws[0][level]) for level in prior.levels)


def test_hr_vqvae_initialises_codebooks_from_the_first_batch_and_decodes_prefixes():
    torch.manual_seed(0)
    model = HRVQVAE(HRVQVAEConfig(image_size=32, num_frames=4, hidden=8, residual=4, res_layers=1, num_layers=3,
                                  codebook_size=4)).train()
    clips = torch.rand(2, 4, 1, 32, 32)
    assert not model.quantizer.layers[0].initialised
    out = model.loss(clips)
    assert all(layer.initialised for layer in model.quantizer.layers)
    assert out.parts["usage_layer1"] > 0.5  # codewords start among the data, so most are used at once
    model.eval()
    codes = model.encode(clips)
    assert set(codes) == {"layer1", "layer2", "layer3"} and codes["layer3"].shape == (2, 4, 8, 8)
    assert int(max(c.max() for c in codes.values())) < 4
    for k in (1, 2, 3):
        frames = model.decode({f"layer{i}": codes[f"layer{i}"] for i in range(1, k + 1)})
        assert frames.shape == clips.shape and 0 <= frames.min() and frames.max() <= 1
    with pytest.raises(ValueError, match="prefix of the layers"):
        model.decode({"layer2": codes["layer2"]})


@pytest.mark.parametrize("path", ["rollout", "teacher_forced"])
def test_joint_training_moves_the_decoder_through_the_prediction_loss(path):
    from vidpred.models.io import build_model

    cfg = s_hr_vqvae_tiny()
    cfg.training, cfg.joint_path = "joint", path
    torch.manual_seed(0)
    model = build_model(cfg).train()
    assert model.pipeline.stage_names == ("tokenizer", "codes", "prior", "joint")
    clips = torch.rand(2, 8, 1, 32, 32)
    model.tokenizer.loss(clips)  # the first batch initialises the codebooks
    # the reconstruction term reaches the decoder and the prior (through the predicted distributions): the
    # gradients with lambda = 1 and lambda = 0 differ by its gradient
    decoder, prior = list(model.tokenizer.decoder.parameters()), list(model.prior.parameters())

    def gradients(weight):
        model.config.joint_weight = weight
        return torch.autograd.grad(model.joint_loss(clips).total, decoder + prior, allow_unused=True)

    with_term, without = gradients(1.0), gradients(0.0)
    zero = lambda g, p: torch.zeros_like(p) if g is None else g
    moved = [not torch.allclose(zero(a, p), zero(b, p)) for a, b, p in zip(with_term, without, decoder + prior)]
    assert any(moved[:len(decoder)]) and any(moved[len(decoder):])
    model.config.joint_weight = 0.11
    out = model.joint_loss(clips)
    before = [p.detach().clone() for p in model.tokenizer.decoder.parameters()]
    encoder_before = [p.detach().clone() for p in model.tokenizer.encoder.parameters()]
    model.zero_grad()
    out.total.backward()
    assert all(p.grad is None for p in model.tokenizer.encoder.parameters())  # codes come without gradient
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.tokenizer.decoder.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(encoder_before, model.tokenizer.encoder.parameters()))


@pytest.mark.parametrize("decoding", ["argmax", "sample"])
def test_joint_rollout_decodes_the_future_the_prior_generates_from_the_context_alone(decoding):
    """§4.4: only the input frames are encoded; the decoder learns from the codes the ST-PixelCNN predicts for the
    future (here: generated from the context codes, as at test time), not from the true future's codebooks."""
    from vidpred.models.io import build_model

    cfg = s_hr_vqvae_tiny()
    cfg.training, cfg.decoding = "joint", decoding
    torch.manual_seed(0)
    model = build_model(cfg).train()
    clips = torch.rand(2, 8, 1, 32, 32)
    model.tokenizer.loss(clips)  # initialises the codebooks
    k = cfg.context_frames
    with torch.no_grad():
        model.eval()
        codes = model.tokenizer.encode(clips)
        context = {level: c[:, :k] for level, c in codes.items()}
        torch.manual_seed(2)
        generated = model.prior.sample(context, greedy=decoding == "argmax")
        future = {level: c[:, k:] for level, c in generated.items()}
        latent = model.tokenizer.quantizer.lookup([c.flatten(0, 1) for c in future.values()])
        expected = F.mse_loss(model.tokenizer.decode_latent(latent, (2, 8 - k)), clips[:, k:]).item()
        model.train()
    torch.manual_seed(2)
    out = model.joint_loss(clips)
    assert model.training and model.prior.training  # the generation ran in evaluation mode, and left it
    assert out.parts["reconstruction"].item() == pytest.approx(expected, rel=1e-5)
    # the true future's codes give another reconstruction: the term is not the teacher-forced one
    assert any(not torch.equal(generated[level][:, k:], codes[level][:, k:]) for level in codes)


def test_loss_on_context_trains_on_every_later_frame_and_evaluates_on_the_predicted_ones():
    cfg = s_hr_vqvae_tiny()
    batch = {level: torch.randint(0, 4, (2, 8, 8, 8)) for level in ("layer1", "layer2")}
    torch.manual_seed(0)
    paper = STPixelCNNPrior(cfg).train()
    assert paper.logits(batch)[1].shape[2] == 4  # Eq. 7: the 4 predicted frames of 8
    cfg.prior.loss_on_context = True
    torch.manual_seed(0)
    prior = STPixelCNNPrior(cfg).train()
    logits, targets = prior.logits(batch)
    assert targets.shape[2] == 7 and torch.equal(targets[:, 0], batch["layer1"][:, 1:])  # frames 2..8
    # the extra frames are the same conditionals: their logits are the predicted frames' logits of Eq. 7
    assert torch.allclose(logits[:, :, :, 3:], paper.logits(batch)[0], atol=1e-6)
    assert prior.eval().logits(batch)[1].shape[2] == 4  # evaluation counts the predicted frames only


def test_dead_codewords_restart_from_rows_of_their_own_group_and_wait_without_any():
    from vidpred.nn.quantize import EMAVectorQuantizer

    torch.manual_seed(0)
    vq = EMAVectorQuantizer(num_codes=6, dim=2, group_size=2, restart_after=1).train()  # 3 codebooks of 2
    vq.embedding.fill_(100.0)
    vq.embed_sum.fill_(100.0)
    flat = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [10.0, 10.0], [11.0, 11.0]])
    group = torch.tensor([0, 0, 0, 1, 1])  # no row routed to codebook 2
    restarted = vq.restart_dead_codes(flat, torch.zeros(6), group)
    assert int(restarted) == 4 and vq.unused_steps.tolist() == [0, 0, 0, 0, 1, 1]
    rows = [tuple(r) for r in vq.embedding.tolist()]
    assert set(rows[:2]) <= {(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)} and rows[0] != rows[1]  # distinct rows of its group
    assert set(rows[2:4]) == {(10.0, 10.0), (11.0, 11.0)}
    assert rows[4:] == [(100.0, 100.0)] * 2  # its group had no row: it waits


def test_the_joint_stage_leaves_the_encoder_and_codebooks_bit_for_bit_as_they_were():
    """§4.4 trains the decoder (and the prior) through Eq. 9; the codes come from the encoder and codebooks the
    tokenizer stage left, which must not move -- not even by the codebooks' EMA updates and dead-code restarts,
    which run whenever the quantiser sees a batch in training mode."""
    from vidpred.models.io import build_model

    cfg = s_hr_vqvae_tiny()
    cfg.training = "joint"
    torch.manual_seed(0)
    model = build_model(cfg).train()
    model.tokenizer.loss(torch.rand(2, 8, 1, 32, 32))  # the first batch initialises the codebooks
    kept = {k: v.clone() for k, v in model.tokenizer.state_dict().items() if not k.startswith("decoder.")}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        optimizer.zero_grad()
        model.joint_loss(torch.rand(2, 8, 1, 32, 32)).total.backward()
        optimizer.step()
    assert model.tokenizer.training  # as the trainer left it
    after = model.tokenizer.state_dict()
    assert all(torch.equal(kept[k], after[k]) for k in kept), [k for k in kept if not torch.equal(kept[k], after[k])]
