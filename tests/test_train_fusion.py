"""F, B, alpha fusion (training.fusion, thesis Eq. 4.3-4.5)."""

from __future__ import annotations

import pytest
import torch

from training.fusion import fuse_fba


def _residual(image, alpha, fg, bg) -> torch.Tensor:
    return (image - alpha * fg - (1 - alpha) * bg).abs()


def test_one_pixel_by_hand():
    # residual = 0.5 - (0.5 * 1 + 0.5 * 0.2) = -0.1; F = 1 + 0.5 (-0.1), B = 0.2 + 0.5 (-0.1);
    # alpha = (0.5 + 10 * 3 * 0.35 * 0.8) / (1 + 10 * 3 * 0.8^2) = 8.9 / 20.2
    image = torch.full((1, 3, 1, 1), 0.5, dtype=torch.float64)
    alpha, fg, bg = fuse_fba(image, torch.full((1, 1, 1, 1), 0.5, dtype=torch.float64),
                             torch.ones(1, 3, 1, 1, dtype=torch.float64), torch.full((1, 3, 1, 1), 0.2, dtype=torch.float64))
    assert alpha.item() == pytest.approx(8.9 / 20.2)
    assert fg.flatten().tolist() == pytest.approx([0.95] * 3) and bg.flatten().tolist() == pytest.approx([0.15] * 3)


def _exact_triple(seed: int, h: int = 16, w: int = 16):
    g = torch.Generator().manual_seed(seed)
    alpha = torch.rand(2, 1, h, w, generator=g, dtype=torch.float64)
    fg = torch.rand(2, 3, h, w, generator=g, dtype=torch.float64)
    bg = torch.rand(2, 3, h, w, generator=g, dtype=torch.float64)
    return alpha * fg + (1 - alpha) * bg, alpha, fg, bg, g


def test_exact_triple_is_unchanged():
    image, alpha, fg, bg, _ = _exact_triple(0)
    a2, f2, b2 = fuse_fba(image, alpha, fg, bg)
    for got, want in ((a2, alpha), (f2, fg), (b2, bg)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_perturbed_triple_moves_towards_the_compositing_equation():
    image, alpha, fg, bg, g = _exact_triple(1)
    noisy = [(x + 0.1 * torch.randn(x.shape, generator=g, dtype=x.dtype)).clamp(0, 1) for x in (alpha, fg, bg)]
    before = _residual(image, *noisy)
    after = _residual(image, *fuse_fba(image, *noisy))
    assert after.mean() < 0.5 * before.mean()
    assert (after <= before + 1e-12).float().mean() > 0.9


def test_alpha_is_the_exact_minimiser_for_the_updated_colours():
    """Eq. 4.5 solves min_a (a - a^)^2 / 10 + |C - a F - (1 - a) B|^2 over [0, 1]: check by brute force."""
    image, alpha, fg, bg, g = _exact_triple(2, 4, 4)
    noisy = [(x + 0.2 * torch.randn(x.shape, generator=g, dtype=x.dtype)).clamp(0, 1) for x in (alpha, fg, bg)]
    a_hat = noisy[0]
    a2, f2, b2 = fuse_fba(image, *noisy)
    grid = torch.linspace(0, 1, 100_001, dtype=torch.float64).view(-1, 1, 1, 1, 1)
    cost = (grid - a_hat) ** 2 / 10.0 + ((image - grid * f2 - (1 - grid) * b2) ** 2).sum(2, keepdim=True)
    best = grid.flatten()[cost.argmin(0)]
    torch.testing.assert_close(a2, best, rtol=0, atol=2e-5)
