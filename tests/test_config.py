from dataclasses import dataclass, field

import pytest

from vidpred import config
from vidpred.config import ConfigError
from vidpred.data import data_config
from vidpred.data.moving_mnist import MovingMNISTConfig
from vidpred.data.registry import dataset_spec


@dataclass
class Inner:
    width: int = 4
    rate: float = 0.5
    tags: list[str] = field(default_factory=list)


@dataclass
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)
    data: MovingMNISTConfig = field(default_factory=MovingMNISTConfig,
                                    metadata={"choose_by": lambda n: dataset_spec(n).config_cls})


def test_unknown_key_names_it_and_suggests_the_closest():
    with pytest.raises(ConfigError) as err:
        config.from_dict(Outer, {"inner": {"widht": 3}})
    assert str(err.value) == "inner.widht: unknown key; did you mean 'width'?"


def test_unknown_key_without_close_match_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"inner.zzz: unknown key; valid keys: rate, tags, width"):
        config.from_dict(Outer, {"inner": {"zzz": 3}})


def test_wrong_type_names_key_and_expected_type():
    with pytest.raises(ConfigError) as err:
        config.from_dict(Outer, {"inner": {"width": "two"}})
    assert str(err.value) == "inner.width: expected int, got 'two' (str)"
    with pytest.raises(ConfigError, match=r"inner.width: expected int, got True"):
        config.from_dict(Outer, {"inner": {"width": True}})  # bool is not accepted as int
    with pytest.raises(ConfigError, match=r"inner.tags\[1\]: expected str, got 3"):
        config.from_dict(Outer, {"inner": {"tags": ["a", 3]}})


def test_int_is_accepted_where_float_is_expected():
    assert config.from_dict(Outer, {"inner": {"rate": 1}}).inner.rate == 1.0


def test_polymorphic_section_builds_the_named_data_set_config():
    cfg = config.from_dict(Outer, {"data": {"name": "kth", "root": "/x", "image_size": 128}})
    assert type(cfg.data).__name__ == "KTHConfig" and cfg.data.image_size == 128
    with pytest.raises(ConfigError, match=r"data.num_digits: unknown key"):
        config.from_dict(Outer, {"data": {"name": "kth", "num_digits": 2}})  # a Moving MNIST key on KTH
    with pytest.raises(ConfigError, match=r"unknown data set 'mnist'; known data sets: bair, kth, moving_mnist"):
        config.from_dict(Outer, {"data": {"name": "mnist"}})


def test_literal_and_validation_errors():
    with pytest.raises(ConfigError, match=r"data.channels: expected one of 1, 3, got 2"):
        data_config("moving_mnist", channels=2)
    with pytest.raises(ConfigError, match=r"data: num_digits must be 1 or 2"):
        data_config("stochastic_moving_mnist", num_digits=3)


def test_yaml_overrides_and_saved_config_round_trip(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: run1\ninner:\n  width: 8\ndata:\n  name: moving_mnist\n  num_digits: 1\n")
    cfg = config.load(Outer, path, ["inner.rate=0.25", "data.num_frames=10", "inner.tags=[a, b]"])
    assert (cfg.inner.width, cfg.inner.rate, cfg.inner.tags) == (8, 0.25, ["a", "b"])
    assert (cfg.data.num_digits, cfg.data.num_frames) == (1, 10)
    config.save(cfg, tmp_path / "resolved.yaml")
    again = config.load(Outer, tmp_path / "resolved.yaml")
    assert again == cfg
    with pytest.raises(ConfigError, match=r"data.num_frame: unknown key; did you mean 'num_frames'\?"):
        config.load(Outer, path, ["data.num_frame=10"])
    with pytest.raises(ConfigError, match="expected the form key=value"):
        config.load(Outer, path, ["inner.width"])


def test_a_learning_rate_written_1e_3_is_a_number():
    """PyYAML reads 1e-3 (no dot) as a string; a float field takes it, an int or str field is unchanged."""
    from pathlib import Path

    from vidpred.training.config import load_experiment

    path = Path(__file__).parents[1] / "configs" / "mmnist" / "s_hr_vqvae.yaml"
    cfg = load_experiment(path, ["optim.lr=1e-3", "stages.prior.lr=3E-4"])
    assert cfg.optim.lr == 0.001 and cfg.stages["prior"].lr == 0.0003
    with pytest.raises(ConfigError, match="optim.lr: expected float"):
        load_experiment(path, ["optim.lr=fast"])
    with pytest.raises(ConfigError, match="trainer.batch_size: expected int"):
        load_experiment(path, ["trainer.batch_size=1e3"])


def test_every_shipped_config_resolves():
    """Each experiment under configs/ loads (presets expanded, stage names checked against the model's pipeline)."""
    from pathlib import Path

    from vidpred.training.config import load_experiment

    files = sorted((Path(__file__).parents[1] / "configs").rglob("*.yaml"))
    configs = [p for p in files if not p.name.endswith(".space.yaml")]
    assert len(configs) >= 5
    for path in configs:
        cfg = load_experiment(path)
        assert cfg.name and cfg.model.name, path
    # a search space for `vidpred tune` (NAME.space.yaml) names keys of the config beside it (NAME.yaml), and
    # the config's own values lie inside it, so a study of it starts from the recipe as given
    spaces = [p for p in files if p.name.endswith(".space.yaml")]
    assert spaces
    from vidpred.config import flatten, to_dict
    from vidpred.training.tune import read_space, trial_config

    for path in spaces:
        config = path.with_name(path.name.replace(".space.yaml", ".yaml"))
        given = flatten(to_dict(load_experiment(config)))
        for dimension in read_space(path):
            for value in dimension.extremes():
                trial_config(to_dict(load_experiment(config)), {dimension.key: value}, Path("/tmp"), "t", 800)
            value = given[dimension.key]
            assert value in dimension.values if dimension.kind == "choice" else \
                dimension.values[0] <= value <= dimension.values[1], (path, dimension.key)
