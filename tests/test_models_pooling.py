"""The exportable adaptive pooling equals PyTorch's at every size, including sizes that are not
multiples of the bin count (where the bins overlap)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from training.models.pooling import adaptive_avg_pool2d, averaging_matrix


@pytest.mark.parametrize("bins", [1, 2, 3, 6])
@pytest.mark.parametrize("size", [(1, 1), (5, 7), (6, 12), (13, 41), (25, 13), (135, 240)])
def test_equals_torch_adaptive_pooling(bins, size):
    x = torch.randn(2, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(bins))
    torch.testing.assert_close(adaptive_avg_pool2d(x, bins), F.adaptive_avg_pool2d(x, bins), rtol=0, atol=1e-12)


def test_bins_by_hand():
    # n = 5 into 3 bins: positions 0-1, 1-3, 3-4 (floor(i*5/3) .. ceil((i+1)*5/3) - 1)
    expected = torch.tensor([[1 / 2, 1 / 2, 0, 0, 0], [0, 1 / 3, 1 / 3, 1 / 3, 0], [0, 0, 0, 1 / 2, 1 / 2]],
                            dtype=torch.float64)
    torch.testing.assert_close(averaging_matrix(5, 3, torch.zeros((), dtype=torch.float64)), expected)
