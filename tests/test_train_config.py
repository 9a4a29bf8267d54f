"""Run configs: shipped recipes hold the thesis values, typos are named, overrides are typed."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from training.cli import app
from training.config import ConfigError, TrainConfig, config_to_dict, config_toml, load_config
from training.models import FBAConfig

SCHEMA = {"model": FBAConfig, "train": TrainConfig}


def test_thesis_config_is_the_papers_recipe():
    from training.loops.fba import load_fba_config

    cfg = load_fba_config("thesis")
    train = cfg["train"]
    # thesis Ch. 4.3.6: RAdam (0.9, 0.999), 1e-5 -> 1e-6 at epoch 40, 45 epochs, decay 0.005 / 1e-5
    assert (train.lr, train.lr_gamma, train.lr_drop_epochs, train.epochs) == (1e-5, 0.1, (40,), 45)
    assert train.betas == (0.9, 0.999) and train.batch_size == 1
    assert (train.weight_decay_conv, train.weight_decay_norm) == (0.005, 1e-5)
    assert cfg["model"] == FBAConfig()          # ResNet-50 widths and depths, Table 4.1 decoder


def test_tiny_config_is_the_tiny_network():
    from training.loops.fba import load_fba_config

    assert load_fba_config("tiny")["model"] == FBAConfig(width=8, blocks=(1, 1, 1, 1), ppm_channels=16,
                                                         decoder_channels=(32, 32, 32, 16, 16, 8))


@pytest.mark.parametrize("network", ["fba", "imatting", "iseg"])
@pytest.mark.parametrize("stem", ["thesis", "tiny"])
def test_config_toml_reads_back_as_the_same_config(tmp_path, network, stem):
    """What a run folder's config.toml holds: every shipped config written out and read back."""
    from training.networks import NETWORKS

    load = NETWORKS[network].parts().load_config
    config = load(stem, ())
    path = _write(tmp_path, config_toml(config_to_dict(config), "a header\nof two lines"), "config.toml")
    assert path.read_text().startswith("# a header\n# of two lines\n")
    assert load(path, ()) == config


def _write(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unknown_key_names_it_and_the_nearest_valid_one(tmp_path):
    path = _write(tmp_path, "[train]\nlr_drop = [40]\n")
    with pytest.raises(ConfigError, match=r"unknown key train\.lr_drop \(did you mean 'lr_drop_epochs'\?\)"):
        load_config(path, "fba", SCHEMA)
    with pytest.raises(ConfigError, match=r"unknown table \[trian\] \(did you mean 'train'\?\)"):
        load_config(_write(tmp_path, "[trian]\nlr = 1.0\n", "table.toml"), "fba", SCHEMA)
    with pytest.raises(ConfigError, match=r"model\.widht \(did you mean 'width'\?\)"):
        load_config(path, "fba", SCHEMA, ["model.widht=8", "train.lr_drop_epochs=[40]"])


def test_overrides_are_typed_by_the_field(tmp_path):
    path = _write(tmp_path, "[train]\nepochs = 3\n")
    cfg = load_config(path, "fba", SCHEMA, ["train.lr=2e-5", "train.weight_decay_norm=0",
                                            "train.betas=[0.8, 0.99]", "model.blocks=[1,1,1,1]",
                                            "train.epoch_checkpoints=false"])
    train = cfg["train"]
    assert train.epochs == 3 and train.lr == 2e-5
    assert isinstance(train.weight_decay_norm, float) and train.weight_decay_norm == 0.0
    assert train.betas == (0.8, 0.99) and cfg["model"].blocks == (1, 1, 1, 1)
    assert train.epoch_checkpoints is False
    with pytest.raises(ConfigError, match=r"train\.epochs must be int, got 'abc'"):
        load_config(path, "fba", SCHEMA, ["train.epochs=abc"])
    with pytest.raises(ConfigError, match=r"train\.epochs must be int, got 2\.5"):
        load_config(path, "fba", SCHEMA, ["train.epochs=2.5"])
    with pytest.raises(ConfigError, match="TABLE.KEY=VALUE"):
        load_config(path, "fba", SCHEMA, ["train.lr"])
    with pytest.raises(ConfigError, match=r"train\.betas needs two values"):
        load_config(path, "fba", SCHEMA, ["train.betas=[0.9]"])


def test_round_trip_through_plain_tables(tmp_path):
    cfg = load_config(_write(tmp_path, "[model]\nwidth = 16\n"), "fba", SCHEMA)
    tables = config_to_dict(cfg)
    assert tables["model"]["blocks"] == [3, 4, 6, 3]          # plain lists, storable anywhere
    assert load_config(_write(tmp_path, config_toml(tables), "back.toml"), "fba", SCHEMA) == cfg


def test_missing_config_lists_the_shipped_ones():
    with pytest.raises(ConfigError, match=r"no such file and not a shipped fba config \(published, thesis, tiny\)"):
        load_config("thesus", "fba", SCHEMA)


def test_cli_rejects_unknown_key_in_one_line(tmp_path):
    path = _write(tmp_path, "[train]\nlr_gama = 0.1\n")
    result = CliRunner().invoke(app, ["fit", "fba", "--config", str(path), "--objects", str(tmp_path),
                                      "--backgrounds", str(tmp_path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "unknown key train.lr_gama" in lines[0] and "'lr_gamma'" in lines[0]
    assert not (tmp_path / "run").exists()
