"""The GN+WS ResNet-50 encoder and the FBA network (training.models).

Truths used: direct numpy formulas for weight standardisation, convolution and GroupNorm;
torchvision ResNet-50's published parameter count and key layout (re-derived here from the
architecture, torchvision is not a dependency); Table 4.1's channel counts.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from training.loops.fba import load_fba_config
from training.models import FBAConfig, FBANet, build_model
from training.models.gnws import WSConv2d, group_count, group_norm, standardise_weight
from training.models.resnet_gnws import ResNetGNWS

TINY_FBA = load_fba_config("tiny")["model"]

TORCHVISION_RESNET50_PARAMS_WITHOUT_FC = 23_508_032  # 25,557,032 minus fc (2048 x 1000 + 1000)


def _conv2d_direct(x: np.ndarray, w: np.ndarray, bias: np.ndarray, pad: int) -> np.ndarray:
    """Textbook cross-correlation, one output pixel at a time (stride 1)."""
    b, _, h, wd = x.shape
    cout, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((b, cout, h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = xp[:, :, i:i + kh, j:j + kw]
            out[:, :, i, j] = np.einsum("bchw,ochw->bo", patch, w) + bias
    return out


def test_ws_conv_matches_direct_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 6, 5))
    w = rng.normal(0.3, 2.0, size=(4, 3, 3, 3))
    bias = rng.normal(size=4)
    flat = w.reshape(4, -1)
    w_hat = ((flat - flat.mean(1, keepdims=True)) / (flat.std(1, ddof=1, keepdims=True) + 1e-5)).reshape(w.shape)
    expected = _conv2d_direct(x, w_hat, bias, pad=1)

    conv = WSConv2d(3, 4, 3, padding=1).double()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        conv.bias.copy_(torch.from_numpy(bias))
    got = conv(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    # the raw weight is not standardised in place: training updates the parameter itself
    np.testing.assert_array_equal(conv.weight.detach().numpy(), w)


def test_ws_backward_matches_numerical_gradient():
    gen = torch.Generator().manual_seed(0)
    small = torch.randn(2, 2, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(standardise_weight, (small,))
    # and the autograd graph of the plain formula agrees on a non-trivial upstream gradient
    w = torch.randn(3, 2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, 2, 3, 3, generator=gen, dtype=torch.float64)
    (ours,) = torch.autograd.grad((standardise_weight(w) * g).sum(), w)
    flat = w.flatten(1)
    plain = ((flat - flat.mean(1, keepdim=True)) / (flat.std(1, keepdim=True) + 1e-5)).view_as(w)
    (ref,) = torch.autograd.grad((plain * g).sum(), w)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)


def test_group_norm_matches_direct_formula():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 3.0, size=(2, 64, 3, 4))
    gamma, beta = rng.normal(size=64), rng.normal(size=64)
    g = x.reshape(2, 32, 2 * 3 * 4)                      # 32 groups of 2 channels
    normed = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(x.shape)
    expected = normed * gamma[None, :, None, None] + beta[None, :, None, None]

    gn = group_norm(64).double()
    with torch.no_grad():
        gn.weight.copy_(torch.from_numpy(gamma))
        gn.bias.copy_(torch.from_numpy(beta))
    np.testing.assert_allclose(gn(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("channels, expected", [(64, 32), (2048, 32), (96, 32), (8, 4), (16, 8), (24, 12), (3, 1)])
def test_group_count(channels, expected):
    assert group_count(channels, 32) == expected


def test_resnet50_parameter_count_equals_torchvision():
    assert sum(p.numel() for p in ResNetGNWS(3).parameters()) == TORCHVISION_RESNET50_PARAMS_WITHOUT_FC
    # 8 more input channels add 8 x 64 stem filters of 7x7 and nothing else
    extra = sum(p.numel() for p in ResNetGNWS(11).parameters()) - TORCHVISION_RESNET50_PARAMS_WITHOUT_FC
    assert extra == 8 * 64 * 7 * 7


@pytest.fixture(scope="module")
def full_net() -> FBANet:
    """The thesis-size network, built once for this module (about 35 M parameters)."""
    return FBANet()


def test_resnet50_output_stride_8_and_dilations(full_net):
    enc = full_net.encoder
    with torch.no_grad():
        feats = enc(torch.rand(1, 11, 16, 24))
    assert [tuple(f.shape) for f in feats] == [(1, 64, 8, 12), (1, 256, 4, 6), (1, 512, 2, 3),
                                               (1, 1024, 2, 3), (1, 2048, 2, 3)]
    assert tuple(enc.channels) == (64, 256, 512, 1024, 2048)
    # stride removed from layer3/4; the first block keeps the previous dilation, the rest dilate 2 / 4
    assert [b.conv2.dilation[0] for b in enc.layer3] == [1, 2, 2, 2, 2, 2]
    assert [b.conv2.dilation[0] for b in enc.layer4] == [2, 4, 4]
    assert {b.conv2.stride[0] for b in [*enc.layer3, *enc.layer4]} == {1}


def _inputs(h: int, w: int, batch: int = 1, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, 3, h, w, generator=g)
    fg = torch.zeros(batch, 1, h, w)
    fg[..., : h // 3, :] = 1
    bg = torch.zeros(batch, 1, h, w)
    bg[..., -h // 3:, :] = 1
    return image, torch.cat([fg, bg], 1), torch.rand(batch, 6, h, w, generator=g)


def test_fba_tiny_forward_backward_shapes_and_ranges():
    net = FBANet(TINY_FBA)
    image, trimap2, maps = _inputs(64, 64, batch=2)
    out = net(image, trimap2, maps)
    assert out.shape == (2, 7, 64, 64)
    assert out.min() >= 0 and out.max() <= 1
    out[:, 1:].mean().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None for g in grads)
    assert net.encoder.conv1.weight.grad.abs().sum() > 0


def test_fba_head_clips_alpha_and_squashes_colours():
    net = FBANet(TINY_FBA)
    with torch.no_grad():
        net.decoder.conv7.weight.zero_()
        net.decoder.conv7.bias.copy_(torch.tensor([1.7, 0.0, 0.0, 0.0, 2.0, -1.0, 0.5]))
        out = net(*_inputs(16, 16))
    assert (out[:, 0] == 1.0).all()                               # clip, not sigmoid(1.7) = 0.85
    expected = torch.sigmoid(torch.tensor([0.0, 0.0, 0.0, 2.0, -1.0, 0.5]))
    torch.testing.assert_close(out[0, 1:, 5, 7], expected)


def test_fba_full_network_matches_table_4_1(full_net):
    net = full_net
    dec = net.decoder
    assert dec.ppm.out_channels == 3072
    assert [dec.conv1[0].in_channels, dec.conv3[0].in_channels, dec.conv4[0].in_channels,
            dec.conv5[0].in_channels] == [3072, 512, 320, 72]
    assert [dec.conv1[0].out_channels, dec.conv2[0].out_channels, dec.conv3[0].out_channels,
            dec.conv4[0].out_channels, dec.conv5[0].out_channels, dec.conv6[0].out_channels,
            dec.conv7.out_channels] == [256, 256, 256, 64, 32, 16, 7]
    assert dec.conv7.kernel_size == (1, 1)
    image, trimap2, maps = _inputs(32, 40)
    with torch.no_grad():
        assert net(image, trimap2, maps).shape == (1, 7, 32, 40)


def test_fba_rejects_sizes_not_multiple_of_8_and_wrong_channels():
    net = FBANet(TINY_FBA)
    image, trimap2, maps = _inputs(65, 64)
    with pytest.raises(ValueError, match="multiples of 8, got 65x64"):
        net(image, trimap2, maps)
    image, trimap2, maps = _inputs(64, 64)
    with pytest.raises(ValueError, match="12 channels"):
        net(image, trimap2, torch.cat([maps, maps[:, :1]], 1))
    with pytest.raises(ValueError, match="trimap2 must be Bx2xHxW"):
        net(image, trimap2[:, :1], maps)
    with pytest.raises(ValueError, match="share batch size, height and width"):
        net(image, trimap2[..., :32], maps)


def test_config_round_trip_and_build_model():
    cfg = TINY_FBA
    d = json.loads(json.dumps(cfg.to_dict()))
    assert FBAConfig.from_dict(d) == cfg
    a, b = build_model(d), build_model(d)
    b.load_state_dict(a.state_dict())                 # same structure, keys and shapes
    image, trimap2, maps = _inputs(32, 32)
    a.eval(), b.eval()
    with torch.no_grad():
        assert torch.equal(a(image, trimap2, maps), b(image, trimap2, maps))
    with pytest.raises(ValueError, match="unknown key model.widht \\(did you mean 'width'\\?\\)"):
        FBAConfig.from_dict({**d, "widht": 8})
    assert build_model(None).config == FBAConfig()
    with pytest.raises(ValueError, match="blocks must be 4 positive integers"):
        FBAConfig.from_dict({**d, "blocks": [1, 1, 1]})
    with pytest.raises(ValueError, match="model.width must be int, got '8'"):
        FBAConfig.from_dict({**d, "width": "8"})


def test_both_networks_check_their_shared_structure_and_their_own_fields():
    """FBA and iseg configs share one encoder-decoder base: its checks apply to both, and each
    adds its own."""
    from training.models.iseg import IsegNetConfig

    for config in (FBAConfig, IsegNetConfig):
        with pytest.raises(ValueError, match="leaky_slope must be a non-negative number"):
            config(leaky_slope=-0.1)
        with pytest.raises(ValueError, match="decoder_channels must be 6 positive integers"):
            config(decoder_channels=(8, 8))
    with pytest.raises(ValueError, match="in_channels must be a positive integer"):
        FBAConfig(in_channels=0)
    with pytest.raises(ValueError, match="interaction_channels must be 6 positive integers"):
        IsegNetConfig(interaction_channels=(8,))


# --- load_pretrained -------------------------------------------------------------------------

def _torchvision_resnet_layout(width: int = 64, blocks=(3, 4, 6, 3), classes: int = 1000) -> dict[str, tuple]:
    """Key -> shape of torchvision's ``resnet50().state_dict()`` (BatchNorm buffers and fc included)."""
    def bn(prefix: str, c: int) -> dict[str, tuple]:
        return {f"{prefix}.weight": (c,), f"{prefix}.bias": (c,), f"{prefix}.running_mean": (c,),
                f"{prefix}.running_var": (c,), f"{prefix}.num_batches_tracked": ()}

    keys = {"conv1.weight": (width, 3, 7, 7), **bn("bn1", width)}
    cin = width
    for li, n in enumerate(blocks, start=1):
        planes = width * 2 ** (li - 1)
        for bi in range(n):
            p = f"layer{li}.{bi}"
            keys |= {f"{p}.conv1.weight": (planes, cin, 1, 1), **bn(f"{p}.bn1", planes),
                     f"{p}.conv2.weight": (planes, planes, 3, 3), **bn(f"{p}.bn2", planes),
                     f"{p}.conv3.weight": (planes * 4, planes, 1, 1), **bn(f"{p}.bn3", planes * 4)}
            if bi == 0:
                keys |= {f"{p}.downsample.0.weight": (planes * 4, cin, 1, 1), **bn(f"{p}.downsample.1", planes * 4)}
            cin = planes * 4
    keys |= {"fc.weight": (classes, cin), "fc.bias": (classes,)}
    return keys


def _random_state_dict(layout: dict[str, tuple], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.tensor(7) if k.endswith("num_batches_tracked") else torch.randn(shape, generator=g)
            for k, shape in layout.items()}


def _is_bn_buffer_or_fc(key: str) -> bool:
    return key.startswith("fc.") or key.rsplit(".", 1)[1] in {"running_mean", "running_var", "num_batches_tracked"}


def test_encoder_keys_and_shapes_are_torchvision_resnet50():
    layout = _torchvision_resnet_layout()
    expected = {k: v for k, v in layout.items() if not _is_bn_buffer_or_fc(k)}
    assert {k: tuple(v.shape) for k, v in ResNetGNWS(3).state_dict().items()} == expected


def test_load_pretrained_resnet50_round_trip(tmp_path, full_net):
    sd = _random_state_dict(_torchvision_resnet_layout())
    path = tmp_path / "resnet50.pth"
    torch.save(sd, path)
    net = full_net
    report = net.load_pretrained(path)
    got = net.encoder.state_dict()
    stem = got["conv1.weight"]
    assert torch.equal(stem[:, :3], sd["conv1.weight"]) and not stem[:, 3:].any()
    assert report.zero_initialised_channels == 8
    assert all(torch.equal(got[k], sd[k]) for k in got if k != "conv1.weight")
    assert set(report.loaded) == set(got)
    assert set(report.skipped) == {k for k in sd if _is_bn_buffer_or_fc(k)}
    assert "fc.weight" in report.skipped and "bn1.running_var" in report.skipped


@pytest.mark.parametrize("style", ["timm", "ws-repo"])
def test_load_pretrained_accepts_timm_and_wrapped_files(tmp_path, style):
    width, blocks = 8, (1, 1, 1, 1)
    layout = _torchvision_resnet_layout(width, blocks)
    if style == "timm":          # timm saves plain tensors, no BN step counter, fc named the same
        layout = {k: v for k, v in layout.items() if not k.endswith("num_batches_tracked")}
    sd = _random_state_dict(layout, seed=3)
    obj = sd if style == "timm" else {"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 90}
    path = tmp_path / "w.pth"
    torch.save(obj, path)
    net = FBANet(FBAConfig(width=width, blocks=blocks, ppm_channels=16, decoder_channels=(16,) * 6))
    report = net.load_pretrained(path)
    assert torch.equal(net.encoder.layer4[0].conv3.weight.detach(), sd["layer4.0.conv3.weight"])
    assert len(report.loaded) == len(net.encoder.state_dict())
    image, trimap2, maps = _inputs(32, 32)
    assert torch.isfinite(net(image, trimap2, maps)).all()


def test_load_pretrained_errors(tmp_path):
    net = FBANet(TINY_FBA)
    with pytest.raises(ValueError, match="no such file|No such file"):
        net.load_pretrained(tmp_path / "missing.pth")
    full = tmp_path / "resnet50_layer4.pth"        # right names, wrong widths for the tiny net
    torch.save(_random_state_dict(_torchvision_resnet_layout(8, (1, 1, 1, 1))) | {"layer4.0.conv1.weight": torch.zeros(3, 3)}, full)
    with pytest.raises(ValueError, match=r"'layer4.0.conv1.weight' has shape \(3, 3\)"):
        net.load_pretrained(full)
    other = tmp_path / "other.pth"
    torch.save({"backbone.stem.weight": torch.zeros(1)}, other)
    with pytest.raises(ValueError, match="encoder tensors missing"):
        net.load_pretrained(other)
    code = tmp_path / "code.pth"
    torch.save({"conv1.weight": torch.zeros(1), "hook": FBAConfig()}, code)
    with pytest.raises(ValueError, match="not a plain tensor state dict"):
        net.load_pretrained(code)
