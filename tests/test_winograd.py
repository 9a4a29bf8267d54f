"""Winograd convolution (NNPACK) for CPU predict: each swapped convolution against a float64
direct convolution, including dilations whose sub-grids do not tile the input evenly; only the
eligible layers are swapped; anything needing gradients or another dtype takes the direct path
bit for bit; the three networks' predictors with ``conv="winograd"`` against ``conv="direct"``;
and the refusals (an exported file, a GPU, a torch without NNPACK)."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

import training.inference.common as common
from datagen.imageio import read_alpha, write_png
from training.checkpoint import CheckpointError, model_payload, save_checkpoint
from training.cli import app
from training.config import config_to_dict
from training.inference import load_predictor
from training.inference.export import export_checkpoint
from training.models.gnws import WSConv2d, fold_weight_standardisation
from training.models.winograd import MIN_CHANNELS, WinogradConv2d, nnpack_available, use_winograd
from training.networks import NETWORKS

pytestmark = pytest.mark.skipif(not nnpack_available(), reason="this torch build has no NNPACK")


@pytest.fixture
def every_width(monkeypatch):
    """Predictors swap every 3x3 layer of the narrow tiny networks too (by default only layers of
    MIN_CHANNELS inputs or more, which the tiny configs do not have)."""
    monkeypatch.setattr(common, "use_winograd", functools.partial(use_winograd, min_channels=1))


@pytest.mark.parametrize("dilation", [1, 2, 4])
@pytest.mark.parametrize("size", [(13, 17), (8, 8), (34, 61), (3, 2)])
@pytest.mark.parametrize("bias", [True, False])
def test_winograd_convolution_is_the_convolution(dilation, size, bias):
    torch.manual_seed(dilation + size[0])
    conv = nn.Conv2d(5, 7, 3, padding=dilation, dilation=dilation, bias=bias)
    x = torch.randn(2, 5, *size)
    fast = use_winograd(nn.Sequential(conv), min_channels=1)[0]
    assert type(fast) is WinogradConv2d and type(conv) is nn.Conv2d          # the original is untouched
    with torch.no_grad():
        got = fast(x)
        exact = F.conv2d(x.double(), conv.weight.double(), None if conv.bias is None else conv.bias.double(),
                         padding=dilation, dilation=dilation)
    assert got.shape == exact.shape and got.dtype == torch.float32
    assert (got.double() - exact).abs().max().item() <= 1e-5 * max(1.0, exact.abs().max().item())


def test_only_plain_3x3_stride_1_same_size_convolutions_are_swapped():
    layers = nn.Sequential(
        nn.Conv2d(4, 4, 3, padding=1),                       # yes
        nn.Conv2d(4, 4, 3, padding=2, dilation=2),           # yes
        nn.Conv2d(4, 4, 3, stride=2, padding=1),             # stride 2
        nn.Conv2d(4, 4, 3, padding=1, dilation=2),           # not the same size
        nn.Conv2d(4, 4, 1),                                  # 1x1
        nn.Conv2d(4, 4, 3, padding=1, groups=2),             # grouped
        nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
        WSConv2d(4, 4, 3, padding=1),                        # standardised: fold it first
    )
    fast = use_winograd(layers, min_channels=4)
    assert [type(m) is WinogradConv2d for m in fast] == [True, True] + [False] * 6
    assert [type(m) is WinogradConv2d for m in use_winograd(fold_weight_standardisation(layers), 4)][-1]
    assert not any(type(m) is WinogradConv2d for m in use_winograd(layers))     # narrow: direct by default
    wide = nn.Sequential(nn.Conv2d(MIN_CHANNELS, 4, 3, padding=1), nn.Conv2d(MIN_CHANNELS - 1, 4, 3, padding=1))
    assert [type(m) is WinogradConv2d for m in use_winograd(wide)] == [True, False]


def test_gradients_and_float64_take_the_direct_convolution_bit_for_bit():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=2, dilation=2)
    fast = use_winograd(nn.Sequential(conv), min_channels=1)[0]
    x = torch.randn(1, 3, 11, 9, requires_grad=True)
    assert torch.equal(fast(x), conv(x))                                    # training: autograd's path
    assert torch.equal(fast.double()(x.double()), conv.double()(x.double()))


def _checkpoint(root, network: str):
    parts = NETWORKS[network].parts()
    cfg = parts.load_config("tiny", ())
    torch.manual_seed(len(network))
    net = parts.model(cfg["model"])
    return save_checkpoint(root / f"{network}.pt", model_payload(network, cfg["model"].to_dict(), net,
                                                                  config_to_dict(cfg)))


def _scene(h: int = 75, w: int = 101):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    trimap = np.zeros((h, w), np.uint8)
    trimap[10:60, 20:80] = 128
    trimap[25:45, 35:65] = 255
    return image, trimap


@pytest.mark.parametrize("network", ["fba", "imatting", "iseg"])
def test_predictors_with_winograd_match_the_direct_convolution(network, tmp_path, one_thread, every_width):
    path = _checkpoint(tmp_path, network)
    direct, fast = load_predictor(path, device="cpu", conv="direct"), load_predictor(path, device="cpu", conv="winograd")
    holder = lambda p: getattr(p, "matting", p)  # noqa: E731  (imatting wraps an FBA predictor)
    assert any(isinstance(m, WinogradConv2d) for m in holder(fast).net.modules())
    assert not any(isinstance(m, (WinogradConv2d, WSConv2d)) for m in holder(direct).net.modules())
    image, trimap = _scene()
    if network == "iseg":
        prev = np.zeros(trimap.shape, np.float32)
        a, b = (p.predict_iseg(image, [(40, 50, True), (5, 5, False)], prev) for p in (direct, fast))
    elif network == "imatting":
        a, b = (p.predict_clicks(image, [(35, 50, True), (3, 3, False)]).alpha for p in (direct, fast))
    else:
        got = [p.predict(image, trimap) for p in (direct, fast)]
        for field in ("fg", "bg"):
            assert np.abs(getattr(got[0], field) - getattr(got[1], field)).max() <= 1e-4
        a, b = (g.alpha for g in got)
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    assert np.abs(a - b).max() <= 1e-4


def test_auto_is_winograd_on_the_cpu_only_where_nnpack_is(tmp_path, monkeypatch, every_width):
    path = _checkpoint(tmp_path, "fba")
    swapped = lambda p: any(isinstance(m, WinogradConv2d) for m in p.net.modules())  # noqa: E731
    assert swapped(load_predictor(path, device="cpu"))
    monkeypatch.setattr(common, "nnpack_available", lambda: False)
    assert not swapped(load_predictor(path, device="cpu"))
    with pytest.raises(CheckpointError, match="needs NNPACK"):
        load_predictor(path, device="cpu", conv="winograd")


def test_refusals_are_one_line(tmp_path, monkeypatch):
    path = _checkpoint(tmp_path, "fba")
    onnx_file = export_checkpoint(path, tmp_path / "fba.onnx").path
    with pytest.raises(CheckpointError, match="for checkpoints"):
        load_predictor(onnx_file, device="cpu", conv="winograd")
    load_predictor(onnx_file, device="cpu")                                  # auto: the file's own runtime
    with pytest.raises(ValueError, match="conv must be one of auto, winograd, direct"):
        load_predictor(path, device="cpu", conv="fast")
    monkeypatch.setattr(common, "resolve_device", lambda device: torch.device("cuda"))
    with pytest.raises(CheckpointError, match="for --device cpu"):
        common.inference_network(torch.nn.Conv2d(1, 1, 3), dataclasses.replace(common.PredictOptions(),
                                                                               conv="winograd"), "x.pt")
    assert type(common.inference_network(torch.nn.Conv2d(1, 1, 3, padding=1), common.PredictOptions())) is nn.Conv2d


def test_predict_takes_conv(tmp_path, every_width):
    path = _checkpoint(tmp_path, "fba")
    image, trimap = _scene()
    write_png(tmp_path / "image.png", image)
    write_png(tmp_path / "trimap.png", trimap)
    args = ["predict", "--model", str(path), "--image", str(tmp_path / "image.png"), "--trimap",
            str(tmp_path / "trimap.png"), "--device", "cpu"]
    outs = {}
    for conv in ("winograd", "direct"):
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / conv), "--conv", conv])
        assert result.exit_code == 0, result.output
        outs[conv] = read_alpha(tmp_path / conv / "alpha.png")
    assert np.abs(outs["winograd"].astype(int) - outs["direct"].astype(int)).max() <= 1
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "x"), "--conv", "fast"])
    assert result.exit_code != 0 and "conv must be one of" in result.output and "Traceback" not in result.output
