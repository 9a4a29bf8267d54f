"""`predict --tile`: windows that cover the image, blending weights that add up, and a per-pixel
network's answer unchanged by tiling (so only the network's own context can differ)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train_predict import PixelOracle, _scene

from training.inference.fba import FBAPredictor, _ramp, _windows


def test_windows_cover_every_position_and_overlap_by_at_least_a_quarter():
    assert _windows(100, 128, 32) == [(0, 100)]
    assert _windows(300, 128, 32) == [(0, 128), (96, 128), (172, 128)]     # by hand: steps of 96, then the end
    for n in (129, 300, 1000):
        covered = np.zeros(n, int)
        for start, length in _windows(n, 128, 32):
            covered[start:start + length] += 1
        assert covered.min() >= 1
    np.testing.assert_allclose(_ramp(96, 8, 300, 3), [0.25, 0.5, 0.75, 1, 1, 0.75, 0.5, 0.25])
    np.testing.assert_allclose(_ramp(0, 4, 4, 3), [1, 1, 1, 1])          # image edges do not fall


def test_a_per_pixel_network_gives_the_same_answer_tiled():
    image, trimap = _scene(h=150, w=203)
    whole = FBAPredictor(PixelOracle(), (6.4, 25.6, 51.2), torch.device("cpu")).predict(image, trimap)
    oracle = PixelOracle()
    tiled = FBAPredictor(oracle, (6.4, 25.6, 51.2), torch.device("cpu"), tile=64, max_pixels=64 * 64).predict(image, trimap)
    assert len(oracle.seen) == 12 and set(oracle.seen) == {(64, 64)}      # 3 x 4 windows, none scaled
    for a, b in ((whole.alpha, tiled.alpha), (whole.fg, tiled.fg), (whole.bg, tiled.bg)):
        np.testing.assert_allclose(b, a, atol=1e-6)


@pytest.mark.parametrize("tile", [30, 60, 512])
def test_bad_tile_sides_are_one_line(tile):
    with pytest.raises(ValueError, match="--tile must be a multiple of 8"):
        FBAPredictor(PixelOracle(), (6.4,), torch.device("cpu"), tile=tile, max_pixels=256 * 256)
