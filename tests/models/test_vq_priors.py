"""The Video VQ-VAE priors: causality of every layer type, fast sampling equal to naive sampling, one-pass
likelihood equal to the sum of per-step conditionals, paper presets at their table sizes."""
from __future__ import annotations

import math

import pytest
import torch

from vidpred.models.presets import video_vqvae_tiny
from vidpred.models.video_vqvae import BottomPrior, TopPrior, VideoVQPredictor
from vidpred.nn.attention import CausalSelfAttention3d
from vidpred.nn.pixelcnn import GatedLayer, GatedPixelCNN, MaskedConv3d

GRID = (2, 4, 5)  # (T, H, W): two time steps, rows of 5 so that row and column effects differ
N = 2 * 4 * 5


def tiny_pixelcnn(**overrides) -> GatedPixelCNN:
    torch.manual_seed(0)
    kwargs = dict(num_codes=12, grid=GRID, hidden=16, layers=4, kernel=3, time_kernel=2, attention_every=2, heads=2,
                  dropout=0.0, cond_channels=6)
    kwargs.update(overrides)
    return GatedPixelCNN(**kwargs).eval()


def dependence(fn, inputs: torch.Tensor, n: int = N) -> torch.Tensor:
    """(N_out, N_in) boolean: whether output position i has a non-zero gradient from input position j. Also
    checks that perturbing input j changes exactly the outputs the gradient says depend on it."""
    N = n
    inputs = inputs.clone().requires_grad_(True)
    out = fn(inputs)  # (B, C, T, H, W)
    rows = []
    for i in range(N):
        grad, = torch.autograd.grad(out.flatten(2)[:, :, i].sum(), inputs, retain_graph=True)
        rows.append(grad.abs().sum(dim=(0, 1)).flatten() > 0)
    by_gradient = torch.stack(rows)
    with torch.no_grad():
        base = out.flatten(2)
        for j in range(N):
            changed = inputs.detach().clone().flatten(2)
            changed[:, :, j] += torch.randn_like(changed[:, :, j])
            moved = (fn(changed.view_as(inputs)).flatten(2) - base).abs().amax(dim=(0, 1)) > 1e-6
            assert torch.equal(moved, by_gradient[:, j]), f"input {j}: perturbation and gradient disagree"
    return by_gradient


def test_first_layer_convolutions_never_read_the_position_or_later():
    x = torch.randn(1, 3, *GRID)
    for region, kernel in (("earlier", (2, 3, 3)), ("above", (2, 3, 3)), ("before", (2, 3, 3))):
        conv = MaskedConv3d(3, 4, kernel, region)
        dep = dependence(conv, x)
        assert not torch.triu(dep).any(), region  # output i depends only on inputs j < i
        assert dep.any()
    # the vertical stack's first layer is blind to its own row as well
    dep = dependence(MaskedConv3d(3, 4, (2, 3, 3), "above"), x)
    t, y, x_ = 1, 2, 3
    i = (t * GRID[1] + y) * GRID[2] + x_
    same_row = [(t * GRID[1] + y) * GRID[2] + c for c in range(GRID[2])]
    assert not dep[i, same_row].any()
    assert dep[i, (t * GRID[1] + y - 1) * GRID[2] + x_]  # the row above, same column
    assert dep[i, (0 * GRID[1] + y + 1) * GRID[2] + x_]  # the previous time step, a row below


@pytest.mark.parametrize("kind", ["gated_past", "gated_vertical", "gated_horizontal", "attention",
                                  "attention_factorised"])
def test_causal_stack_layers_read_only_up_to_their_position(kind):
    torch.manual_seed(0)
    x = torch.randn(2, 8, *GRID)
    if kind.startswith("attention"):
        layer = CausalSelfAttention3d(8, 2, GRID, factorised_position=kind == "attention_factorised")
        fn = layer
    else:
        layer = GatedLayer(hidden=8, kernel=3, time_kernel=2, dropout=0.0, cond_channels=0, past=True)
        a, b = torch.randn(2, 8, *GRID), torch.randn(2, 8, *GRID)
        fn = {"gated_past": lambda p: layer(p, a, b, None)[1], "gated_vertical": lambda v: layer(a, v, b, None)[2],
              "gated_horizontal": lambda h: layer(a, b, h, None)[2]}[kind]
    dep = dependence(fn, x)
    # Each stack is blind to its own unit: the past stack to its step, the vertical to its row, the horizontal
    # (and attention over it) to nothing beyond its position. An output may read an input of the same or an
    # earlier unit, never a later one.
    position = torch.arange(N)
    unit = {"gated_past": position // (GRID[1] * GRID[2]), "gated_vertical": position // GRID[2]}.get(kind, position)
    allowed = unit[None, :] <= unit[:, None]
    assert not (dep & ~allowed).any()
    assert dep.diagonal().any() and dep.sum() > N
    if not kind.startswith("attention"):  # the layer reads its whole unit: a later position of the same step / row / itself
        assert (dep & (unit[None, :] == unit[:, None]) & (position[None, :] > position[:, None])).any() \
            or kind == "gated_horizontal"


def raster_dependence(model: GatedPixelCNN, cond=None) -> torch.Tensor:
    """(N, N) boolean over the model's grid: whether the logits at i depend on the code at j (gradient and
    perturbation agree)."""
    n = math.prod(model.grid)
    e = model.embed(torch.randint(0, model.num_codes, (2, *model.grid))).permute(0, 4, 1, 2, 3).detach()
    return dependence(lambda z: model.forward_embedded(z, cond), e, n)


@pytest.mark.parametrize("grid,time_kernel", [((3, 4, 5), 2), ((1, 5, 6), 1)])
def test_no_blind_spot_every_earlier_position_within_reach_changes_the_logits(grid, time_kernel):
    """Attention off, so only the convolutions carry information. With 4 layers of 3x3 filters every earlier
    position of these grids is within reach: each must change the logits (the (t,k,1)/(t,1,k) reading of Walker et
    al. missed the row above two columns right and the previous step two rows down), and no later one may."""
    model = tiny_pixelcnn(grid=grid, time_kernel=time_kernel, attention_every=0, cond_channels=0)
    dep = raster_dependence(model)
    n = dep.shape[0]
    assert torch.equal(dep, torch.tril(torch.ones(n, n, dtype=torch.bool), diagonal=-1))
    # the cases the issue named, at a middle position
    t, y, x = grid[0] - 1, 2, 2
    flat = lambda t_, y_, x_: (t_ * grid[1] + y_) * grid[2] + x_
    assert dep[flat(t, y, x), flat(t, y - 1, x + 2)]  # the row above, two columns right
    if grid[0] > 1:
        assert dep[flat(t, y, x), flat(t - 1, y + 2, x + 2)]  # the previous step, two rows down, two right
        assert model.p_first is not None
    else:
        assert model.p_first is None  # a single step has no past stack


def test_reach_is_limited_by_depth_without_attention():
    """One gated layer of 3x3 filters reaches only a few rows and columns: positions far above-left are out of
    reach (so the test above is not satisfied by a network that sees everything by construction)."""
    model = tiny_pixelcnn(grid=(1, 6, 7), time_kernel=1, attention_every=0, cond_channels=0, layers=1)
    dep = raster_dependence(model)
    i, far = (5 * 7) + 6, 0  # the last position and the top-left corner
    assert dep[i, i - 1] and not dep[i, far]
    assert not torch.triu(dep).any()


def test_priors_are_causal_over_the_clip_including_their_conditioning():
    cfg = video_vqvae_tiny()
    torch.manual_seed(0)
    top_prior, bottom_prior = TopPrior(cfg).eval(), BottomPrior(cfg).eval()
    top = torch.randint(0, 16, (2, *cfg.tokenizer.top_shape))
    bottom = torch.randint(0, 16, (2, *cfg.tokenizer.bottom_shape))
    ct, cb = cfg.context_steps
    # top prior: generated top codes from position p on do not change the logits up to p
    logits, _ = top_prior.logits({"top": top, "bottom": bottom})
    flat = logits.flatten(2)
    for p in (0, 7, 20, flat.shape[2] - 1):
        changed = top.clone()
        gen = changed[:, ct:].flatten(1)
        gen[:, p:] = (gen[:, p:] + 1) % 16
        changed[:, ct:] = gen.view_as(changed[:, ct:])
        after = top_prior.logits({"top": changed, "bottom": bottom})[0].flatten(2)
        assert torch.allclose(after[:, :, :p + 1], flat[:, :, :p + 1], atol=1e-5)
    changed = bottom.clone()
    changed[:, :cb] = (changed[:, :cb] + 1) % 16  # the context changes every generated position's logits
    assert not torch.allclose(top_prior.logits({"top": top, "bottom": changed})[0][:, :, 0], logits[:, :, 0])
    # bottom prior: slice n, position p: later positions and later slices do not matter; earlier slices do
    logits, _ = bottom_prior.logits({"top": top, "bottom": bottom})  # (B * slices, K, 1, H, W)
    slices = cfg.tokenizer.bottom_shape[0] - cb
    logits = logits.view(2, slices, *logits.shape[1:]).flatten(3)
    n, p = cb + 1, 30
    changed = bottom.clone()
    rest = changed[:, n].flatten(1)
    rest[:, p:] = (rest[:, p:] + 1) % 16
    changed[:, n] = rest.view_as(changed[:, n])
    changed[:, n + 1:] = (changed[:, n + 1:] + 1) % 16
    after, _ = bottom_prior.logits({"top": top, "bottom": changed})
    after = after.view(2, slices, *after.shape[1:]).flatten(3)
    assert torch.allclose(after[:, :n - cb], logits[:, :n - cb], atol=1e-5)  # earlier slices
    assert torch.allclose(after[:, n - cb, :, :p + 1], logits[:, n - cb, :, :p + 1], atol=1e-5)
    assert not torch.allclose(after[:, n - cb + 1], logits[:, n - cb + 1])  # a later slice sees slice n
    changed = top.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 16  # the top latent conditions the bottom slices
    with_other_top = bottom_prior.logits({"top": changed, "bottom": bottom})[0]
    assert not torch.allclose(with_other_top.view(2, slices, *with_other_top.shape[1:]).flatten(3)[:, -1],
                              logits[:, -1])


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_cached_sampling_returns_the_naive_samplers_codes(temperature, device):
    model = tiny_pixelcnn().to(device)
    for p in model.parameters():  # sharper distributions than at initialisation, so samples are not all alike
        p.data.mul_(2)
    cond = torch.randn(3, 6, *GRID).to(device)
    fast = model.sample(3, cond, torch.Generator(device).manual_seed(5), temperature, cached=True)
    naive = model.sample(3, cond, torch.Generator(device).manual_seed(5), temperature, cached=False)
    assert torch.equal(fast, naive)
    assert len(set(fast.flatten().tolist())) > 3
    other = model.sample(3, cond, torch.Generator(device).manual_seed(6), temperature, cached=True)
    assert not torch.equal(fast, other)


@pytest.mark.parametrize("greedy", [True, False])
@pytest.mark.parametrize("attention", [0, 2])
def test_solving_a_step_at_once_gives_the_position_by_position_codes_in_fewer_rounds(greedy, attention):
    # without attention the cached sampler solves whole steps by default; with it, when asked (S-HR-VQVAE's prior)
    model = tiny_pixelcnn(attention_every=attention, solve_steps=True if attention else None,
                          factorised_position=True)
    assert model.solve_steps and len(model.attention) == (2 if attention else 0)
    for p in model.parameters():
        p.data.mul_(2)
    cond = torch.randn(3, 6, *GRID)
    prefix = torch.randint(0, 12, (3, 1, *GRID[1:]))
    for given in (None, prefix):
        calls = []
        fast = model.sample(3, cond, torch.Generator().manual_seed(5), cached=True, greedy=greedy, prefix=given,
                            progress=calls.append)
        naive = model.sample(3, cond, torch.Generator().manual_seed(5), cached=False, greedy=greedy, prefix=given)
        assert torch.equal(fast, naive)
        assert len(set(fast.flatten().tolist())) > 3
        steps = GRID[0] - (0 if given is None else 1)
        assert steps <= len(calls) < steps * GRID[1] * GRID[2]  # rounds of whole steps, not positions


def test_cached_and_naive_priors_predict_the_same_codes(device):
    cfg = video_vqvae_tiny()
    torch.manual_seed(1)
    top_prior, bottom_prior = TopPrior(cfg).eval().to(device), BottomPrior(cfg).eval().to(device)
    ct, cb = cfg.context_steps
    context_top = torch.randint(0, 16, (2, ct, *cfg.tokenizer.top_shape[1:])).to(device)
    context_bottom = torch.randint(0, 16, (2, cb, *cfg.tokenizer.bottom_shape[1:])).to(device)
    tops = [top_prior.sample(context_top, context_bottom, torch.Generator(device).manual_seed(0), cached=c)
            for c in (True, False)]
    assert torch.equal(*tops)
    whole = torch.cat([context_top, tops[0]], dim=1)
    bottoms = [bottom_prior.sample(whole, context_bottom, torch.Generator(device).manual_seed(0), cached=c)
               for c in (True, False)]
    assert torch.equal(*bottoms)
    assert torch.equal(bottoms[0][:, :cb], context_bottom)


def test_one_pass_log_likelihood_equals_the_sum_of_per_step_conditionals():
    model = tiny_pixelcnn()
    codes = torch.randint(0, 12, (3, *GRID))
    cond = torch.randn(3, 6, *GRID)
    one_pass = torch.log_softmax(model(codes, cond).double(), dim=1).gather(1, codes.unsqueeze(1)).sum((1, 2, 3, 4))
    sequential = model.sequential_log_prob(codes, cond)
    assert torch.allclose(one_pass, sequential, rtol=1e-5)


def test_prior_loss_is_nats_per_code_and_falls_when_trained():
    cfg = video_vqvae_tiny()
    torch.manual_seed(0)
    prior = TopPrior(cfg)
    batch = {"top": torch.randint(0, 16, (4, *cfg.tokenizer.top_shape)), "bottom": torch.randint(0, 16, (4, *cfg.tokenizer.bottom_shape))}
    first = prior.loss(batch).total
    assert first.item() == pytest.approx(torch.log(torch.tensor(16.0)).item(), abs=0.5)  # about uniform at start
    optimizer = torch.optim.Adam(prior.parameters(), lr=3e-3)
    for _ in range(30):
        loss = prior.loss(batch).total
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first.item()


def test_paper_presets_construct_at_table_sizes_and_take_a_training_step(capsys):
    from vidpred.models.presets import walker_kinetics_256

    cfg = walker_kinetics_256()
    p, q = cfg.top_prior, cfg.bottom_prior
    assert (p.hidden, p.layers, p.kernel, p.heads, p.dropout) == (512, 40, 3, 8, 0.5)
    assert (q.hidden, q.layers, q.kernel, q.heads, q.dropout) == (512, 20, 5, 8, 0.0)
    top = TopPrior(cfg)
    assert top.pixelcnn.grid == (3, 32, 32)  # Table 4: input size 32x32x3
    assert len(top.pixelcnn.layers) == 40 and len(top.pixelcnn.attention) == 8
    assert top.pixelcnn.layers[0].h_conv.out_channels == 1024  # residual units
    assert top.pixelcnn.layers[0].p_conv.kernel_size == (3, 3, 3)  # past stack: earlier steps, whole kernel
    assert top.pixelcnn.layers[0].v_conv.kernel_size == (1, 3, 3)  # vertical: rows above, whole width
    assert top.pixelcnn.layers[0].h_conv.kernel_size == (1, 1, 3)
    assert top.pixelcnn.p_first.kernel_size == (3, 3, 3)
    assert top.cond.up.out_channels == 512 and len(top.cond.blocks) == 4 + 1  # Table 5 (+ the final ReLU)
    top_count = sum(t.numel() for t in top.parameters())
    del top
    bottom = BottomPrior(cfg)
    assert bottom.pixelcnn.grid == (1, 64, 64) and len(bottom.pixelcnn.attention) == 4
    assert bottom.pixelcnn.layers[0].h_conv.kernel_size == (1, 1, 5)
    assert bottom.pixelcnn.layers[0].v_conv.kernel_size == (1, 5, 5) and bottom.pixelcnn.p_first is None
    assert bottom.cond.merge.out_channels == 1024 and len(bottom.cond.blocks) == 20 + 1  # Table 6
    bottom_count = sum(t.numel() for t in bottom.parameters())
    del bottom
    with capsys.disabled():
        print(f"\nwalker_kinetics_256 priors: top {top_count:,} parameters, bottom {bottom_count:,} parameters")
    # One training step at the tables' widths and depths, batch 1, on a 64x64 clip (a 3x8x8 top grid) with 12
    # context frames (2 generated bottom slices): the 256x256 grid is minutes per step on 2 CPU cores.
    small = walker_kinetics_256()
    small.tokenizer.image_size, small.context_frames = 64, 12
    small.top_prior.dropout = 0.5
    for prior_cls in (TopPrior, BottomPrior):
        prior = prior_cls(small).train()
        batch = {"top": torch.randint(0, 512, (1, *small.tokenizer.top_shape)),
                 "bottom": torch.randint(0, 512, (1, *small.tokenizer.bottom_shape))}
        loss = prior.loss(batch).total
        loss.backward()
        torch.optim.SGD(prior.parameters(), lr=1e-3).step()
        assert torch.isfinite(loss) and prior.pixelcnn.head.weight.grad is not None
        del prior


def test_predict_refuses_an_unfinished_pipeline_and_uses_the_latest_whole_context():
    cfg = video_vqvae_tiny()
    model = VideoVQPredictor(cfg).eval()
    context = torch.rand(1, 6, 1, 32, 32)
    with pytest.raises(ValueError, match="finished 0 of its 4 training stages"):
        model.predict(context, 4)
    model.stages_trained.fill_(4)
    with pytest.warns(UserWarning, match="using the last 4 of the 6 context frames"):
        out = model.predict(context, 4, num_samples=2, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 2, 4, 1, 32, 32)
    with pytest.raises(ValueError, match="at least 4"):
        model.predict(context[:, :3], 4)


def test_each_later_window_continues_from_the_context_only_codes_of_the_frames_it_decoded():
    """The priors learn on context frames encoded on their own (training/codes.py), so a horizon longer than one
    window continues from the last context_frames decoded frames encoded alone -- not from the window's codes, which a
    context-only encoding disagrees with."""
    cfg = video_vqvae_tiny()  # 12-frame windows, 4 of context: 8 frames per window
    torch.manual_seed(0)
    model = VideoVQPredictor(cfg).eval()
    model.stages_trained.fill_(model.pipeline.num_stages)
    for p in model.parameters():  # sharper than at initialisation, so codes differ from place to place
        p.data.mul_(2)
    decoded, contexts = [], []
    real_decode, real_sample = model.tokenizer.decode, model.top_prior.sample
    model.tokenizer.decode = lambda codes: decoded.append(real_decode(codes)) or decoded[-1]
    model.top_prior.sample = lambda top, bottom, *a: contexts.append((top, bottom)) or real_sample(top, bottom, *a)
    out = model.predict(torch.rand(2, 4, 1, 32, 32), horizon=12, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 1, 12, 1, 32, 32) and len(decoded) == 2 and len(contexts) == 2
    alone = model.tokenizer.encode(decoded[0][:, -cfg.context_frames:])
    assert torch.equal(contexts[1][0], alone["top"]) and torch.equal(contexts[1][1], alone["bottom"])
    assert torch.equal(out[:, 0], torch.cat([decoded[0][:, 4:], decoded[1][:, 4:8]], dim=1))
