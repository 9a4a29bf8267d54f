"""The two-label random walker equals scikit-image's (the independent reference) to solver tolerance."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from skimage.segmentation import random_walker

from training.evaluation.random_walker import random_walker_probability


def scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy two-region colour image with a few foreground and background seeds."""
    rng = np.random.default_rng(seed)
    h, w = 48, 64
    yy, xx = np.mgrid[:h, :w]
    inside = (yy - 24) ** 2 / 15**2 + (xx - 30) ** 2 / 20**2 < 1
    image = np.where(inside[..., None], [0.8, 0.3, 0.2], [0.2, 0.5, 0.7]) + rng.normal(0, 0.03, (h, w, 3))
    seeds = np.zeros((h, w), np.uint8)
    seeds[0, :] = seeds[-1, :] = seeds[:, 0] = seeds[:, -1] = 2
    seeds[22:26, 28:32] = 1
    seeds[5:8, 50:53] = 2
    return np.clip(image, 0, 1), seeds


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scikit_image_cg_mg(seed):
    image, seeds = scene(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = random_walker(image, seeds.astype(np.int32), beta=1000, mode="cg_mg", tol=1e-3,
                                  channel_axis=-1, return_full_prob=True)[0]
    ours = random_walker_probability(image, seeds, beta=1000)
    assert np.abs(ours - reference).max() < 2e-2
    assert ((ours > 0.5) == (reference > 0.5)).mean() > 0.999
    assert ours[seeds == 1].min() == 1.0 and ours[seeds == 2].max() == 0.0
    # The object is found: most of the ellipse is above 0.5, the far background below.
    assert ours[20:28, 20:40].mean() > 0.9 and ours[40:, :].mean() < 0.1


def test_all_seeded_image_needs_no_solve():
    image, _ = scene(0)
    seeds = np.full(image.shape[:2], 2, np.uint8)
    seeds[:10] = 1
    assert np.array_equal(random_walker_probability(image, seeds, beta=1000), (seeds == 1).astype(float))
