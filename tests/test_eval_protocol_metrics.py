"""The metrics papers after the thesis report (issue 29): MAD and whole-image SAD/MSE of the
trimap-free sets, Boundary IoU, NoC@95 / failures@95 and seconds per click, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation.metrics import (
    boundary_iou,
    boundary_width,
    inner_boundary,
    iou,
    mad,
    trimap_free_errors,
)
from training.evaluation.noc import noc_summary
from training.evaluation.timing import seconds_per_click


# --------------------------------------------------------------------------- MAD and trimap-free errors
def test_mad_is_the_mean_absolute_difference_in_alpha_units():
    gt = np.array([[0, 255], [255, 0]], np.uint8)
    pred = np.array([[51, 255], [204, 0]], np.uint8)       # |Δα| = 0.2, 0, 0.2, 0
    assert mad(pred, gt, None) == pytest.approx(0.4 / 4)
    trimap = np.array([[128, 255], [128, 0]], np.uint8)     # unknown: the two 0.2 errors
    assert mad(pred, gt, trimap) == pytest.approx(0.2)
    assert mad(pred, gt, np.zeros((2, 2), np.uint8)) == 0.0  # empty unknown region: 0, never NaN


def test_trimap_free_errors_are_whole_image_sad_mse_mad():
    gt = np.zeros((10, 20), np.uint8)
    pred = gt.copy()
    pred[:5, :4] = 255                                       # 20 pixels off by 1.0, out of 200
    assert trimap_free_errors(pred, gt) == pytest.approx({"sad": 20 / 1000, "mse": 20 / 200, "mad": 20 / 200})
    with pytest.raises(TypeError, match="uint8"):
        mad(pred.astype(np.float32) / 255, gt, None)


# --------------------------------------------------------------------------- Boundary IoU
def test_boundary_width_rounds_the_diagonal_like_the_reference():
    assert boundary_width((10, 10)) == 1                     # 0.28 -> 0, raised to the minimum 1
    assert boundary_width((75, 100)) == 2                    # 0.02 x 125 = 2.5: halves go to even
    assert boundary_width((100, 100)) == 3                   # 2.83
    assert boundary_width((300, 400)) == 10


def test_inner_boundary_band_and_the_image_edge():
    square = np.zeros((10, 10), bool)
    square[2:8, 2:8] = True
    band = inner_boundary(square, 2)
    core = np.zeros((10, 10), bool)
    core[4:6, 4:6] = True
    np.testing.assert_array_equal(band, square & ~core)     # 36 - 4 pixels within 2 of the outside
    full = inner_boundary(np.ones((6, 7), bool), 1)         # the image border counts as outside
    assert full.sum() == 6 * 7 - 4 * 5 and not full[1:-1, 1:-1].any()


def test_boundary_iou_of_a_shifted_square_by_hand():
    gt = np.zeros((10, 10), np.int8)
    gt[3:7, 3:7] = 1                                         # ring of 12 pixels around a 2x2 core
    pred = np.zeros((10, 10), bool)
    pred[3:7, 4:8] = True                                    # same square one column right
    # rings share rows 3 and 6 at columns 4..6 (6 pixels); union 12 + 12 - 6
    assert boundary_iou(gt, pred) == pytest.approx(6 / 18)
    assert iou(gt, pred) == pytest.approx(12 / 20)           # the region IoU forgives more
    assert boundary_iou(gt, gt == 1) == 1.0
    assert np.isnan(boundary_iou(np.zeros((4, 4), np.int8), np.zeros((4, 4), bool)))


def test_boundary_iou_leaves_ignore_pixels_out():
    gt = np.zeros((10, 10), np.int8)
    gt[3:7, 3:7] = 1
    gt[3, 3:7] = -1                                          # the object's top row is not scored
    pred = np.zeros((10, 10), bool)
    pred[3:7, 3:7] = True
    # object = rows 4..6, columns 3..6 (width 1): its band is all of it but (5, 4) and (5, 5);
    # prediction band: the 12-pixel ring of rows 3..6, less its ignored top row
    g = np.zeros((10, 10), bool)
    g[4:7, 3:7] = True
    g[5, 4:6] = False
    p = np.zeros((10, 10), bool)
    p[3:7, 3:7] = True
    p[4:6, 4:6] = False
    p[3] = False
    assert boundary_iou(gt, pred) == pytest.approx((g & p).sum() / (g | p).sum())
    assert (g & p).sum() == 8 and (g | p).sum() == 10


# --------------------------------------------------------------------------- NoC@95, failures@95
def test_noc95_and_failures95_by_hand():
    ious = [
        [0.5, 0.96],                                         # reaches 0.95 at click 2 (early-stopped list)
        [0.5] * 19 + [0.95],                                 # exactly 0.95 at click 20: counts, NoC = 20
        [0.94] * 20,                                         # never: a failure, NoC = 20
        [19 / 20],                                           # IoU 19/20 == 0.95 in float64: NoC = 1
    ]
    s = noc_summary(ious, max_clicks=20)
    assert s["noc95"] == pytest.approx((2 + 20 + 20 + 1) / 4)
    assert s["failures95"] == 1                              # true failures
    assert s["noc20_images95"] == 2                          # RITM's NoF: NoC = 20, reached-at-20 included
    assert s["noc80"] == pytest.approx((2 + 20 + 1 + 1) / 4) and s["failures80"] == 0
    assert set(s) == {f"{name}{k}" for name in ("noc", "noc20_images", "failures") for k in (80, 85, 90, 95)}
    assert noc_summary(ious, thresholds=(0.95,), max_clicks=5) == {"noc95": (2 + 5 + 5 + 1) / 4,
                                                                  "noc20_images95": 2, "failures95": 2}


# --------------------------------------------------------------------------- seconds per click
def test_seconds_per_click_is_pooled_over_clicks_like_simpleclick():
    spc = seconds_per_click([2.0, 1.0], [20, 1])             # 3 s over 21 clicks, 2 samples
    assert spc["seconds_per_click"] == pytest.approx(3 / 21)
    assert spc["seconds_per_click_per_sample"] == pytest.approx([0.1, 1.0])
    assert spc["seconds_per_sample"] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="2 sample times for 1 click counts"):
        seconds_per_click([1.0, 2.0], [3])
    with pytest.raises(ValueError, match="at least one click"):
        seconds_per_click([1.0], [0])


def test_inner_boundary_equals_iterated_3x3_erosion_with_outside_as_background():
    """The reference's d erosions by a 3x3 square on the zero-padded mask, done with scipy instead."""
    from scipy import ndimage

    rng = np.random.default_rng(2)
    for d in (1, 2, 4):
        mask = ndimage.binary_opening(rng.random((23, 31)) < 0.6)
        eroded = ndimage.binary_erosion(mask, np.ones((3, 3), bool), iterations=d, border_value=0)
        np.testing.assert_array_equal(inner_boundary(mask, d), mask & ~eroded)
