"""The config fields that express the published networks, each against its own definition, and
training the published variants (tiny widths): resume bit for bit and bf16 AMP."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fba_training_data import demo_seg
from typer.testing import CliRunner

from training.checkpoint import load_checkpoint
from training.cli import app
from training.clicks.paint import click_masks
from training.fusion import fuse_fba
from training.loops.fba import load_fba_config
from training.models.gnws import standardise_weight
from training.models.guided_filter import DeepGuidedFilter, guided_filter
from training.models.iseg import click_maps, clicked_pixels


def test_ws_formulas_are_the_published_layers():
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(5, 4, 3, 3, generator=gen, dtype=torch.float64) * 0.05 + 0.01
    # FBA_Matting's layers_WS: F.batch_norm over each output filter, training statistics, eps 1e-5
    fba = F.batch_norm(w.view(1, 5, -1), None, None, training=True, momentum=0.0, eps=1e-5).view_as(w)
    torch.testing.assert_close(standardise_weight(w, "fba"), fba, rtol=1e-12, atol=1e-12)
    # DeepInteractiveSegmentation's layers_WS: sqrt(unbiased variance + 1e-12) + 1e-5
    centred = w - w.mean(dim=(1, 2, 3), keepdim=True)
    dis = centred / (torch.sqrt(centred.flatten(1).var(dim=1) + 1e-12).view(-1, 1, 1, 1) + 1e-5)
    torch.testing.assert_close(standardise_weight(w, "dis"), dis, rtol=1e-12, atol=1e-12)
    # the three differ by more than rounding at these weight scales
    assert (standardise_weight(w, "fba") - standardise_weight(w, "std")).abs().max() > 1e-3


@pytest.mark.parametrize("formula", ["std", "dis", "fba"])
def test_ws_backward_matches_numerical_gradient_for_every_formula(formula):
    small = torch.randn(3, 2, 2, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64,
                        requires_grad=True)
    assert torch.autograd.gradcheck(lambda w: standardise_weight(w, formula), (small,))


def test_published_fusion_updates_b_from_the_updated_f():
    """The published code's equations written out: F first, then B from that (unclipped) F, then
    alpha with lambda 0.1; the thesis order (b_from_new_f False) differs."""
    gen = torch.Generator().manual_seed(0)
    img, fg, bg = (torch.rand(1, 3, 4, 5, generator=gen, dtype=torch.float64) for _ in range(3))
    a = torch.rand(1, 1, 4, 5, generator=gen, dtype=torch.float64)
    f_new = a * img + (1 - a ** 2) * fg - a * (1 - a) * bg
    b_new = (1 - a) * img + (2 * a - a ** 2) * bg - a * (1 - a) * f_new
    f_new, b_new = f_new.clamp(0, 1), b_new.clamp(0, 1)
    alpha = ((a * 0.1 + ((img - b_new) * (f_new - b_new)).sum(1, keepdim=True))
             / (((f_new - b_new) ** 2).sum(1, keepdim=True) + 0.1)).clamp(0, 1)
    ours = fuse_fba(img, a, fg, bg, b_from_new_f=True)
    for got, want in zip(ours, (alpha, f_new, b_new)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    assert (fuse_fba(img, a, fg, bg)[2] - b_new).abs().max() > 1e-3


def test_guided_filter_layer_filters_in_float64():
    """eps 1e-8 and a guide far from zero: float32 cumulative sums lose the variance entirely, the
    layer (float32 in, float32 out) matches the float64 filter."""
    gen = torch.Generator().manual_seed(0)
    layer = DeepGuidedFilter(2, 1e-8, hidden=4, guide="image_clicks")
    with torch.no_grad():
        layer.guide[2].bias.fill_(300.0)           # guide values around 300
    inputs = torch.rand(1, 5, 40, 48, generator=gen)
    mask = torch.rand(1, 1, 40, 48, generator=gen)
    with torch.no_grad():
        out = layer(inputs, mask)
        guide = layer.guide(inputs)
        want = guided_filter(guide.double(), mask.double(), 2, 1e-8).clamp(0, 1)
        naive = guided_filter(guide, mask, 2, 1e-8).clamp(0, 1)
    assert out.dtype == torch.float32
    assert (out.double() - want).abs().max() < 1e-6
    assert (naive.double() - want).abs().max() > 1e-2      # what float32 would have given


def test_click_maps_with_a_fixed_side_and_clicked_pixels_recovered_from_them():
    clicks = [(5, 7, True), (30, 2, True), (12, 40, False)]
    masks = click_masks((36, 48), clicks)
    maps = click_maps(masks, (0.02, 0.08, 0.16), 352)
    ys, xs = np.mgrid[:36, :48]
    d2 = (ys - 12) ** 2 + (xs - 40) ** 2                   # the one negative click
    np.testing.assert_allclose(maps[3], np.exp(-d2 / (2 * (0.02 * 352) ** 2)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(maps[5], np.exp(-d2 / (2 * (0.16 * 352) ** 2)), rtol=1e-6, atol=1e-7)
    assert np.array_equal(clicked_pixels(torch.from_numpy(maps)[None])[0].numpy(), masks)
    # no negative click: its maps are all zero (the published encoding), and none is recovered
    only = click_maps(click_masks((36, 48), clicks[:2]), (0.02, 0.08, 0.16), 352)
    assert not only[3:].any() and not clicked_pixels(torch.from_numpy(only)[None])[0, 1].any()


FBA_PUBLISHED = ["--set", 'model.norm_order="norm_act"', "--set", 'model.weight_standardisation="fba"',
                 "--set", "model.fusion_in_forward=true"]
ISEG_PUBLISHED = ["--set", 'model.norm_order="norm_act"', "--set", 'model.weight_standardisation="dis"',
                  "--set", 'model.guide="image_clicks"', "--set", "model.click_side=352", "--set",
                  "model.force_clicks_before_filter=true", "--set", "model.guided_eps=1e-8",
                  "--set", "model.click_sigmas=[0.02, 0.08, 0.16]"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("variants")
    return demo_seg(root, n=4, n_objects=2)


def _fit(network, data, out, *extra):
    source = (["--objects", str(data["objects"]), "--backgrounds", str(data["backgrounds"])] if network == "fba"
              else ["--data", str(data["seg"])])
    args = ["fit", network, "--config", "tiny", *source, "--out", str(out), "--no-progress", "--device", "cpu",
            "--set", "train.log_steps=1", *(FBA_PUBLISHED if network == "fba" else ISEG_PUBLISHED), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return load_checkpoint(out / "last.pt", network)


@pytest.mark.parametrize("network", ["fba", "iseg"])
def test_published_variant_trains_resumes_bit_for_bit_and_runs_bf16(network, data, tmp_path, one_thread):
    full = _fit(network, data, tmp_path / "full", "--max-steps", "2")
    assert full["model_config"]["norm_order"] == "norm_act"
    _fit(network, data, tmp_path / "cut", "--max-steps", "1")
    cut = _fit(network, data, tmp_path / "cut", "--max-steps", "2", "--resume")
    assert all(torch.equal(full["model"][k], cut["model"][k]) for k in full["model"])
    amp = _fit(network, data, tmp_path / "amp", "--max-steps", "1", "--amp", "bf16")
    assert all(torch.isfinite(v).all() for v in amp["model"].values())


def test_groupnorm_ws_imagenet_file_loads_exactly_and_batchnorm_files_say_approximate(tmp_path):
    """The thesis's start: torchvision names, GroupNorm parameters in the bn* slots, no running
    statistics, plus the classifier. Every tensor lands where it was; the stem's extra channels
    start at zero, as in the published code."""
    from training.models.fba import FBANet
    from training.models.resnet_gnws import ResNetGNWS

    cfg = load_fba_config("tiny")["model"]
    gen = torch.Generator().manual_seed(4)
    gn_ws = {k: torch.randn(v.shape, generator=gen) for k, v in ResNetGNWS(3, cfg.width, cfg.blocks).state_dict().items()}
    gn_ws |= {"fc.weight": torch.randn(10, cfg.width * 32, generator=gen), "fc.bias": torch.randn(10, generator=gen)}
    torch.save(gn_ws, tmp_path / "gn_ws.pth")
    net = FBANet(cfg)
    report = net.load_pretrained(tmp_path / "gn_ws.pth")
    got = net.encoder.state_dict()
    assert all(torch.equal(got[k], gn_ws[k]) for k in got if k != "conv1.weight")
    assert torch.equal(got["conv1.weight"][:, :3], gn_ws["conv1.weight"]) and not got["conv1.weight"][:, 3:].any()
    assert torch.equal(net.encoder.layer1[0].bn2.weight.detach(), gn_ws["layer1.0.bn2.weight"])    # GN affine
    assert not report.batchnorm and "GroupNorm + WS, exact" in str(report)
    assert set(report.skipped) == {"fc.weight", "fc.bias"}

    bn = gn_ws | {"bn1.running_mean": torch.zeros(cfg.width), "bn1.running_var": torch.ones(cfg.width)}
    torch.save(bn, tmp_path / "bn.pth")
    report = FBANet(cfg).load_pretrained(tmp_path / "bn.pth")
    assert report.batchnorm and "BatchNorm, approximate" in str(report)
