"""The pyramid pooling folded into the convolution after it (the fast CPU path): the same outputs
as the unfolded network for the three networks and the published variants, at sizes the bins do
not divide; the shifted upsampling matrices are F.interpolate's; an unfoldable decoder is left as
it is."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from network_variants import VARIANTS, variant_network
from torch import nn

from training.models.gnws import fold_weight_standardisation
from training.models.pyramid_fold import PyramidPooledConv, _shifted_upsampling, fold_pyramid_pooling, foldable
from training.networks import NETWORKS


def _network(variant: str) -> tuple[str, nn.Module]:
    network, _, net = variant_network(variant)
    return network, net.eval()


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_folded_network_is_the_network(variant, one_thread):
    network, net = _network(variant)
    plain = fold_weight_standardisation(net).eval()
    folded = fold_pyramid_pooling(plain).eval()
    assert sum(isinstance(m, PyramidPooledConv) for m in folded.modules()) == 1
    assert not any(isinstance(m, PyramidPooledConv) for m in plain.modules())        # a copy was folded
    for h, w in ((200, 328), (96, 104), (48, 64)):
        g = torch.Generator().manual_seed(h + w)
        inputs = [torch.rand(1, c, h, w, generator=g) for _, c in NETWORKS[network].exported_inputs]
        with torch.no_grad():
            expected, got = plain(*inputs), folded(*inputs)
        assert (got - expected).abs().max().item() <= 1e-5, (variant, h, w)


@pytest.mark.parametrize("n, bins", [(17, 1), (17, 2), (34, 3), (60, 6), (5, 6)])
def test_the_shifted_upsampling_is_interpolate_with_zero_padding(n, bins):
    torch.manual_seed(n)
    p = torch.randn(1, 1, bins, bins, dtype=torch.float64)
    up = F.interpolate(p, size=(n, n), mode="bilinear", align_corners=False)[0, 0]
    padded = F.pad(up, (1, 1, 1, 1))
    r = _shifted_upsampling(n, bins, p)
    for dy in range(3):
        for dx in range(3):
            assert torch.allclose(r[dy] @ p[0, 0] @ r[dx].T, padded[dy:dy + n, dx:dx + n], atol=1e-12)


def test_a_standardised_conv1_is_not_folded():
    _, net = _network("fba")
    assert not foldable(net.decoder)                     # conv1 is a WSConv2d until WS is folded
    assert foldable(fold_weight_standardisation(net).decoder)
    assert not any(isinstance(m, PyramidPooledConv) for m in fold_pyramid_pooling(net).modules())
