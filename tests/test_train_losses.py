"""Training losses (training.losses) against hand-computed values and a scipy reference pyramid: FBA's
Eq. 4.1 terms and the soft-IoU + click loss of Eq. 3.1 / 5.1."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from training.losses import (composition_loss, exclusion_loss, fba_loss, gradient_loss, image_gradients,
                             l1_loss, laplacian_loss, laplacian_pyramid, masked_mean, soft_iou_click_loss)


def t(a) -> torch.Tensor:
    """A nested list as a 1x1xHxW float64 tensor."""
    return torch.tensor(a, dtype=torch.float64)[None, None]


def test_l1_masked_mean_by_hand():
    pred, target = t([[0.2, 0.5], [1.0, 0.0]]), t([[0.0, 1.0], [1.0, 1.0]])
    assert l1_loss(pred, target, t([[1, 1], [0, 0]])).item() == pytest.approx(0.35)
    assert l1_loss(pred, target).item() == pytest.approx(1.7 / 4)
    assert l1_loss(pred, target, t([[0, 0], [0, 0]])).item() == 0.0     # empty region: 0, not NaN
    # pooled over the batch and averaged over channels
    err = torch.stack([torch.full((2, 1, 1), 1.0), torch.full((2, 1, 1), 3.0)])   # B=2, C=2, 1x1
    mask = torch.tensor([1.0, 1.0]).view(2, 1, 1, 1)
    assert masked_mean(err, mask).item() == pytest.approx(2.0)


def test_composition_by_hand():
    # one pixel: alpha F + (1 - alpha) B = (0.5, 0.5, 0.1); C = (0.7, 0.5, 0.1)
    c = torch.tensor([0.7, 0.5, 0.1]).view(1, 3, 1, 1)
    fg = torch.tensor([1.0, 0.6, 0.0]).view(1, 3, 1, 1)
    bg = torch.tensor([0.0, 0.4, 0.2]).view(1, 3, 1, 1)
    alpha = torch.full((1, 1, 1, 1), 0.5)
    assert composition_loss(alpha, fg, bg, c).item() == pytest.approx(0.2 / 3)


def test_gradients_and_gradient_loss_by_hand():
    x = t([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0]])
    dx, dy = image_gradients(x)
    assert dx[0, 0].tolist() == [[1, 2, 0], [0, 0, 0]]
    assert dy[0, 0].tolist() == [[-1, -2, -4], [0, 0, 0]]
    assert gradient_loss(x, torch.zeros_like(x)).item() == pytest.approx(10 / 6)
    assert gradient_loss(x + 5.0, x).item() == 0.0                    # offsets have no gradient
    assert gradient_loss(x, torch.zeros_like(x), t([[0, 1, 0], [0, 0, 0]])).item() == pytest.approx(4.0)


def test_exclusion_by_hand():
    fg = t([[0.0, 1.0], [0.0, 1.0]])        # dx = [[1, 0], [1, 0]], dy = 0
    bg = t([[0.0, 2.0], [1.0, 1.0]])        # dx = [[2, 0], [0, 0]], dy = [[1, -1], [0, 0]]
    assert exclusion_loss(fg, bg).item() == pytest.approx(2 / 4)
    # structure in different directions does not overlap: zero
    ramp = torch.arange(4.0, dtype=torch.float64)
    assert exclusion_loss(ramp.expand(1, 1, 4, 4), ramp.view(4, 1).expand(1, 1, 4, 4)).item() == 0.0


def test_laplacian_by_hand():
    # 1x4 image [0, 0, 0, 4], edges replicated: blur = [0, .25, 1.25, 2.75], down = [0, 1.25],
    # bilinear up = [0, .3125, .9375, 1.25], band 1 = [0, -.3125, -.9375, 2.75] (mean |.| = 1);
    # level 2: blur([0, 1.25]) = [.390625, .859375], down = [.390625], band 2 = [-.390625, .859375]
    x = t([[0.0, 0.0, 0.0, 4.0]])
    bands = laplacian_pyramid(x, levels=2)
    np.testing.assert_allclose(bands[0][0, 0, 0].numpy(), [0, -0.3125, -0.9375, 2.75])
    np.testing.assert_allclose(bands[1][0, 0, 0].numpy(), [-0.390625, 0.859375])
    zero = torch.zeros_like(x)
    assert laplacian_loss(x, zero, levels=1).item() == pytest.approx(1.0)
    assert laplacian_loss(x, zero, levels=2).item() == pytest.approx(1.0 + 2 * 0.625)
    # masked: level 1 sees pixel 3 only (2.75), level 2 the pooled mask [0, 1] (0.859375, weight 2)
    assert laplacian_loss(x, zero, t([[0, 0, 0, 1]]), levels=2).item() == pytest.approx(2.75 + 2 * 0.859375)


def _scipy_laplacian_loss(a: np.ndarray, levels: int = 5) -> float:
    """Independent reference: scipy filters and zoom, no torch."""
    k = np.array([1, 4, 6, 4, 1]) / 16
    total, cur = 0.0, a
    for s in range(levels):
        blur = ndimage.correlate1d(ndimage.correlate1d(cur, k, axis=0, mode="nearest"), k, axis=1, mode="nearest")
        down = blur[::2, ::2]
        up = ndimage.zoom(down, 2, order=1, mode="nearest", grid_mode=True)
        total += 2 ** s * np.abs(cur - up).mean()
        cur = down
    return total


def test_laplacian_loss_matches_scipy_reference_and_ignores_constants():
    rng = np.random.default_rng(0)
    a, b = rng.random((64, 32)), rng.random((64, 32))
    got = laplacian_loss(t(a.tolist()), t(b.tolist())).item()
    assert got == pytest.approx(_scipy_laplacian_loss(a - b), rel=1e-10)
    assert laplacian_loss(t(a.tolist()) + 0.3, t(a.tolist())).item() == pytest.approx(0.0, abs=1e-12)
    assert all(band.abs().max() < 1e-12 for band in laplacian_pyramid(torch.full((1, 3, 20, 12), 0.7, dtype=torch.float64)))


def _scene(h: int = 8, w: int = 8):
    """Known FG rows 0-1, unknown rows 2-5, known BG rows 6-7; constant F and B."""
    alpha = torch.zeros(1, 1, h, w)
    alpha[..., :2, :] = 1.0
    alpha[..., 2:6, :] = torch.linspace(0.8, 0.05, 4).view(4, 1)
    trimap2 = torch.zeros(1, 2, h, w)
    trimap2[:, 0, :2] = 1
    trimap2[:, 1, 6:] = 1
    fg, bg = torch.full((1, 3, h, w), 0.9), torch.full((1, 3, h, w), 0.1)
    batch = {"alpha": alpha, "fg": fg, "bg": bg, "composite": alpha * fg + (1 - alpha) * bg, "trimap2": trimap2}
    return batch


def test_fba_loss_assembles_terms_by_hand():
    batch = _scene()
    perfect = torch.cat([batch["alpha"], batch["fg"], batch["bg"]], 1)
    total, parts = fba_loss(perfect, batch)
    assert total.item() == pytest.approx(0.0, abs=1e-6)
    assert set(parts) == {"total", "alpha_l1", "alpha_comp", "alpha_lap", "alpha_grad",
                          "fb_l1", "fb_lap", "fb_excl", "fb_comp"}
    # true alpha at most 0.8, predicted alpha + 0.1 everywhere: L1 0.1, comp 0.1 (F - B) = 0.08,
    # a constant offset has no gradient and no Laplacian band, F and B are exact: total 0.18
    alpha = batch["alpha"] * 0.8
    batch = {**batch, "alpha": alpha, "composite": alpha * batch["fg"] + (1 - alpha) * batch["bg"]}
    out = torch.cat([alpha + 0.1, batch["fg"], batch["bg"]], 1).requires_grad_(True)
    total, parts = fba_loss(out, batch)
    expected = {"alpha_l1": 0.1, "alpha_comp": 0.08, "alpha_lap": 0.0, "alpha_grad": 0.0,
                "fb_l1": 0.0, "fb_lap": 0.0, "fb_excl": 0.0, "fb_comp": 0.0, "total": 0.18}
    assert parts == pytest.approx(expected, abs=1e-6)
    assert total.item() == pytest.approx(0.18, abs=1e-6)
    total.backward()
    assert out.grad[:, :1].abs().sum() > 0


def test_fba_loss_weights_fb_terms_by_a_quarter():
    batch = _scene()
    fg_hat = batch["fg"] + 0.04                       # constant error: only L1_FB and Lc_FB move
    out = torch.cat([batch["alpha"], fg_hat, batch["bg"]], 1)
    total, parts = fba_loss(out, batch)
    unknown_alpha = batch["alpha"][..., 2:6, :]
    assert parts["fb_l1"] == pytest.approx(0.04, abs=1e-6)
    assert parts["fb_comp"] == pytest.approx(0.04 * unknown_alpha.mean().item(), abs=1e-6)
    assert parts["fb_lap"] == pytest.approx(0.0, abs=1e-6) and parts["fb_excl"] == pytest.approx(0.0, abs=1e-6)
    assert total.item() == pytest.approx(0.25 * (parts["fb_l1"] + parts["fb_comp"]), abs=1e-6)


def test_fba_loss_fb_region():
    batch = _scene()
    fg_hat = batch["fg"].clone()
    fg_hat[..., :2, :] += 0.05                        # wrong F only in the known-FG rows (16 of 64 pixels)
    out = torch.cat([batch["alpha"], fg_hat, batch["bg"]], 1)
    assert fba_loss(out, batch)[1]["fb_l1"] == 0.0    # default: the unknown region only
    for valid, expected in [(True, 0.05 * 16 / 64), (False, 0.0), (torch.tensor([True]), 0.05 * 16 / 64),
                            (batch["trimap2"][:, :1], 0.05)]:
        assert fba_loss(out, {**batch, "fb_valid": valid})[1]["fb_l1"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="fb_valid must be"):
        fba_loss(out, {**batch, "fb_valid": torch.ones(3, 3)})


def test_fba_loss_is_float32_under_bf16_autocast():
    batch = _scene(16, 16)
    out = torch.rand(1, 7, 16, 16, generator=torch.Generator().manual_seed(0))
    reference, _ = fba_loss(out, batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, _ = fba_loss(out.bfloat16(), batch)
    assert total.dtype == torch.float32
    assert total.item() == pytest.approx(reference.item(), rel=2e-2)   # only the bf16 input rounding differs


# --------------------------------------------------------------------------- Eq. 3.1 / 5.1
def test_soft_iou_click_loss_by_hand():
    alpha = torch.tensor([[[[1.0, 0.5], [0.0, 0.25]]]])
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    valid = torch.ones_like(mask)
    # intersection 1 + 0.5 = 1.5; union max: 1 + 1 + 0 + 0.25 = 2.25; click at (0, 1) positive: (0.5 - 1)^2
    loss = soft_iou_click_loss(alpha, mask, valid, [[(0, 1, True)]])
    assert loss.item() == pytest.approx(1 - 1.5 / 2.25 + 0.25)
    # a negative click at (1, 1) adds 0.25^2; the same click twice counts twice (a sum over clicks)
    two = soft_iou_click_loss(alpha, mask, valid, [[(0, 1, True), (1, 1, False), (1, 1, False)]])
    assert two.item() == pytest.approx(1 - 1.5 / 2.25 + 0.25 + 2 * 0.0625)
    valid[0, 0, 1, 1] = 0                        # an ignored pixel leaves the union
    assert soft_iou_click_loss(alpha, mask, valid, [[]]).item() == pytest.approx(1 - 1.5 / 2.0)


def test_soft_iou_click_loss_is_a_mean_over_samples_and_float32_under_bf16():
    alpha = torch.tensor([[[[1.0, 0.5], [0.0, 0.25]]], [[[0.0, 0.0], [1.0, 1.0]]]])
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]], [[[1.0, 1.0], [0.0, 0.0]]]])
    valid = torch.ones_like(mask)
    # sample 2: no overlap (IoU 0, loss 1) and its positive click at (0, 0) misses by 1
    expected = ((1 - 1.5 / 2.25) + (1 + 1.0)) / 2
    clicks = [[], [(0, 0, True)]]
    assert soft_iou_click_loss(alpha, mask, valid, clicks).item() == pytest.approx(expected)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = soft_iou_click_loss(alpha.bfloat16(), mask, valid, clicks)
    assert loss.dtype == torch.float32 and loss.item() == pytest.approx(expected)
    # a perfect prediction with its clicks right costs nothing
    assert soft_iou_click_loss(mask, mask, valid, [[(0, 0, True), (1, 0, False)]] * 2).item() == pytest.approx(0.0)
