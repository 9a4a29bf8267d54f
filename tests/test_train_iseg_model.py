"""Interactive segmentation network (thesis Ch. 3.2.1): guided filter against its definition, shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.clicks.paint import click_masks
from training.loops.iseg import load_iseg_config
from training.models.guided_filter import box_sum, guided_filter
from training.models.iseg import IsegNet, IsegNetConfig, force_clicks

TINY_ISEG = load_iseg_config("tiny")["model"]


def _direct_guided_filter(I: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s formulas with explicit clipped windows, pixel by pixel (float64)."""
    h, w = I.shape

    def win(y, x):
        return slice(max(0, y - r), min(h, y + r + 1)), slice(max(0, x - r), min(w, x + r + 1))

    a, b = np.zeros((h, w)), np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            Iw, pw = I[win(y, x)], p[win(y, x)]
            cov = (Iw * pw).mean() - Iw.mean() * pw.mean()
            a[y, x] = cov / (Iw.var() + eps)
            b[y, x] = pw.mean() - a[y, x] * Iw.mean()
    q = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            q[y, x] = a[win(y, x)].mean() * I[y, x] + b[win(y, x)].mean()
    return q


def test_box_sum_matches_explicit_windows():
    x = torch.arange(35, dtype=torch.float64).reshape(1, 1, 5, 7)
    got = box_sum(x, 2)[0, 0].numpy()
    ref = np.array([[x[0, 0, max(0, i - 2):i + 3, max(0, j - 2):j + 3].sum().item() for j in range(7)] for i in range(5)])
    np.testing.assert_allclose(got, ref)


@pytest.mark.parametrize("r, eps", [(2, 1e-2), (1, 1e-4)])
def test_guided_filter_matches_direct_formula(r, eps):
    rng = np.random.default_rng(0)
    I = rng.random((9, 11))
    p = (I > 0.5) * 0.8 + 0.2 * rng.random((9, 11))
    got = guided_filter(torch.from_numpy(I)[None, None], torch.from_numpy(p)[None, None], r, eps)[0, 0].numpy()
    np.testing.assert_allclose(got, _direct_guided_filter(I, p, r, eps), atol=1e-10)


@pytest.mark.parametrize("h, w", [(352, 352), (37, 53)])
def test_tiny_network_shapes_and_click_forcing(h, w):
    torch.manual_seed(0)
    net = IsegNet(TINY_ISEG).eval()
    masks = torch.from_numpy(click_masks((h, w), [(3, 4, True), (h - 1, w - 1, False)]))[None]
    with torch.no_grad():
        out = net.predict(torch.rand(1, 3, h, w), masks, torch.zeros(1, 1, h, w))
    assert out.shape == (1, 1, h, w)
    assert 0 <= out.min() and out.max() <= 1
    assert out[0, 0, 3, 4] == 1 and out[0, 0, h - 1, w - 1] == 0


def test_force_clicks_leaves_other_pixels():
    prob = torch.full((1, 1, 4, 4), 0.3)
    masks = torch.from_numpy(click_masks((4, 4), [(0, 0, True), (1, 1, False)]))[None]
    out = force_clicks(prob, masks)
    assert out[0, 0, 0, 0] == 1 and out[0, 0, 1, 1] == 0 and (out[0, 0, 2:] == 0.3).all()


def test_thesis_interaction_and_fusion_channels():
    net = IsegNet(IsegNetConfig())
    assert net.decoder.ppm.out_channels == 3328          # Table 3.2, first concat
    assert net.decoder.conv3[0].in_channels == 768       # + layer1 & interaction conv4
    assert net.decoder.conv5[0].in_channels == 73        # + image & clicks
    assert [l[0].stride[0] for l in net.interaction.layers] == [1, 2, 1, 2, 2, 1]
