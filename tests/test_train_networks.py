"""The network table (training.networks): each entry's code agrees with what the entry states,
and reading the table stays light."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
import torch

from training.networks import INPUTS, NETWORKS


def test_importing_the_table_loads_no_torch():
    code = "import sys, training.networks; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_each_entry_matches_its_code(name):
    network = NETWORKS[name]
    parts = network.parts()
    assert network.name == name and set(network.predict_inputs) <= set(INPUTS)
    assert network.protocol in ("matting", "imatting", "iseg")
    # the checkpoint tag the fit loop writes is the table's key
    assert importlib.import_module(parts.fit.__module__).NETWORK == name
    assert callable(getattr(parts.predictor, f"predict_{network.protocol}"))
    config = parts.load_config("tiny", ())
    assert isinstance(config["model"], parts.config)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_exported_tensors_are_what_forward_takes_and_returns(name):
    """What an exported file would hold: forward's inputs and outputs by channel count."""
    network = NETWORKS[name]
    parts = network.parts()
    torch.manual_seed(0)
    model = parts.model(parts.load_config("tiny", ())["model"]).eval()
    inputs = [torch.rand(1, channels, 32, 32) for _, channels in network.exported_inputs]
    with torch.no_grad():
        out = model(*inputs)
    assert out.shape == (1, sum(c for _, c in network.exported_outputs), 32, 32)
