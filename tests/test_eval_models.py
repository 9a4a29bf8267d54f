"""Model contracts (typing.Protocol) and ``load_model``: every spec form, every error a user can make."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from training.evaluation.baselines import BASELINES, GrabCutSeg, make_baseline
from training.evaluation.contracts import ImattingModel, IsegModel, MattingModel
from training.evaluation.models import ModelError, load_model
from training.evaluation.protocols import PROTOCOLS, implements

BASELINE_PROTOCOL = {"grabcut": "iseg", "random_walker": "iseg", "closed_form": "matting", "knn": "matting",
                     "scribble_cf": "imatting"}


def test_each_baseline_implements_exactly_its_protocol():
    assert set(BASELINE_PROTOCOL) == set(BASELINES)
    for name, protocol in BASELINE_PROTOCOL.items():
        model = make_baseline(name)
        assert [p for p in PROTOCOLS if implements(model, p)] == [protocol], name


class ZeroSeg:
    def predict_iseg(self, image, clicks, prev_mask):
        return np.zeros(image.shape[:2], np.float32)


class NotCallable:
    predict_matting = 0.5


def make_zero_seg():
    return ZeroSeg()


def test_contracts_are_structural_and_need_a_callable_method():
    assert isinstance(ZeroSeg(), IsegModel) and not isinstance(ZeroSeg(), MattingModel)
    assert not isinstance(ZeroSeg(), ImattingModel)
    assert isinstance(NotCallable(), MattingModel)          # what runtime_checkable alone would accept
    assert not implements(NotCallable(), "matting")
    with pytest.raises(ValueError, match="unknown protocol"):
        implements(ZeroSeg(), "segment")


def test_load_model_baselines_and_factories():
    assert load_model("baseline:grabcut", "iseg") == GrabCutSeg()
    assert isinstance(load_model(f"{__name__}:make_zero_seg", "iseg"), ZeroSeg)
    with pytest.raises(ModelError, match=r"no predict_matting\(\) and cannot run the matting protocol"):
        load_model("baseline:grabcut", "matting")
    with pytest.raises(ModelError, match="unknown baseline 'nope'; known: grabcut"):
        load_model("baseline:nope", "iseg")
    with pytest.raises(ModelError, match="cannot import model factory"):
        load_model("no_such_module_xyz:factory", "iseg")
    with pytest.raises(ModelError, match="cannot import model factory"):
        load_model(f"{__name__}:no_such_factory", "iseg")
    with pytest.raises(ModelError, match="use baseline:NAME, package.module:factory or a checkpoint"):
        load_model("grabcut", "iseg")
    with pytest.raises(ValueError, match="unknown protocol"):
        load_model("baseline:grabcut", "segment")


def _fake_inference(monkeypatch, load_predictor):
    module = types.ModuleType("training.inference")
    module.load_predictor = load_predictor
    monkeypatch.setitem(sys.modules, "training.inference", module)


def test_checkpoint_spec_goes_to_the_inference_module(monkeypatch, tmp_path):
    checkpoint = tmp_path / "fba.pt"
    checkpoint.write_bytes(b"not read by the fake")
    seen = []
    _fake_inference(monkeypatch, lambda path: seen.append(path) or ZeroSeg())
    assert isinstance(load_model(str(checkpoint), "iseg"), ZeroSeg) and seen == [str(checkpoint)]
    with pytest.raises(ModelError, match="no predict_imatting"):
        load_model(str(checkpoint), "imatting")
    with pytest.raises(ModelError, match=f"checkpoint {tmp_path / 'missing.pt'} not found"):
        load_model(str(tmp_path / "missing.pt"), "iseg")

    def corrupt(path):
        raise ValueError("no network weights in this file")

    _fake_inference(monkeypatch, corrupt)
    with pytest.raises(ModelError, match="cannot load checkpoint .*fba.pt: no network weights"):
        load_model(str(checkpoint), "iseg")

    def wrong_network(path):
        raise ValueError(f"checkpoint {path}: holds a 'gnws' network")

    _fake_inference(monkeypatch, wrong_network)
    with pytest.raises(ModelError, match=r"^checkpoint .*fba.pt: holds a 'gnws' network$"):   # the file named once
        load_model(str(checkpoint), "iseg")


def test_checkpoint_spec_without_the_inference_module(monkeypatch, tmp_path):
    checkpoint = tmp_path / "fba.pt"
    checkpoint.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "training.inference", None)     # import fails as if not written yet
    with pytest.raises(ModelError, match="checkpoint models need the training package's inference module"):
        load_model(str(checkpoint), "iseg")
