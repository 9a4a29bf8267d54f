"""Click robots: protocol R (§B.2), protocol L (§B.6) and the matting robot (§B.6), each rule on a
scene built so that the rule decides the answer."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation import next_click_largest_region, next_click_matting, next_click_ritm
from training.evaluation.robots import padded_edt


def test_padded_edt_matches_brute_force():
    rng = np.random.default_rng(0)
    mask = rng.random((9, 12)) < 0.7
    h, w = mask.shape
    # non-mask points: every False pixel and the one-pixel frame outside the image
    outside = [(y, x) for y in range(-1, h + 1) for x in range(-1, w + 1)
               if not (0 <= y < h and 0 <= x < w) or not mask[y, x]]
    pts = np.array(outside, float)
    ref = np.zeros((h, w))
    for y, x in zip(*np.nonzero(mask)):
        ref[y, x] = np.sqrt(((pts - (y, x)) ** 2).sum(1)).min()
    np.testing.assert_allclose(padded_edt(mask), ref)


# --------------------------------------------------------------------------- protocol R
def test_ritm_first_click_on_empty_prediction_is_deepest_object_pixel():
    gt = np.zeros((20, 20), int)
    gt[4:15, 2:9] = 1                           # 11 x 7 box: centre row 9, col 5
    click = next_click_ritm(gt, np.zeros_like(gt, bool), [])
    assert click == (7, 5, True)                # first row-major among the equally deep rows 7..11


def test_ritm_border_region_deepest_point_is_away_from_border():
    gt = np.zeros((10, 10), int)
    gt[:, :4] = 1                               # touches three image sides
    y, x, pos = next_click_ritm(gt, np.zeros_like(gt, bool), [])
    assert pos and x in (1, 2) and 1 <= y <= 8


def test_ritm_equal_depth_gives_negative_click():
    gt = np.zeros((11, 22), int)
    gt[2:7, 2:7] = 1                            # FN square, depth 3
    pred = np.zeros_like(gt, bool)
    pred[2:7, 14:19] = True                     # FP square, same depth
    assert next_click_ritm(gt, pred, []) == (4, 16, False)


def test_ritm_excludes_clicked_pixels_and_ignore():
    gt = np.zeros((9, 9), int)
    gt[3:6, 3:6] = 1
    pred = np.zeros_like(gt, bool)
    first = next_click_ritm(gt, pred, [])
    assert first == (4, 4, True)
    second = next_click_ritm(gt, pred, [first])
    assert second != first and second[2] and 3 <= second[0] <= 5
    gt_ignored = gt.copy()
    gt_ignored[3:6, 3:6] = -1                   # the only error is ignored -> nothing left
    assert next_click_ritm(gt_ignored, pred, []) == (0, 0, False)


def test_ritm_no_error_left_clicks_origin_negative():
    gt = np.zeros((5, 5), int)
    gt[1:3, 1:3] = 1
    assert next_click_ritm(gt, gt == 1, []) == (0, 0, False)


def test_ritm_refuses_probabilities():
    with pytest.raises(TypeError, match="threshold"):
        next_click_ritm(np.zeros((3, 3), int), np.zeros((3, 3)), [])


def _deep_vs_large_scene():
    """A long thin FN strip (largest by area) and a compact FP square (deepest)."""
    gt = np.zeros((40, 80), int)
    gt[2:4, 2:78] = 1                           # 152 px strip, depth 1
    pred = np.zeros_like(gt, bool)
    pred[20:31, 30:41] = True                   # 121 px square, depth 6
    return gt, pred


def test_protocols_r_and_l_differ_where_deepest_is_not_largest():
    gt, pred = _deep_vs_large_scene()
    assert next_click_ritm(gt, pred, []) == (25, 35, False)
    y, x, pos = next_click_largest_region(gt, pred, [])
    assert pos and y in (2, 3)


# --------------------------------------------------------------------------- protocol L
def test_largest_region_uses_8_connectivity():
    gt = np.zeros((12, 12), int)
    for i in range(6):
        gt[i, i] = 1                            # diagonal chain: one 8-connected region of 6
    gt[9:11, 0:2] = 1                           # 4 px block
    y, x, pos = next_click_largest_region(gt, np.zeros_like(gt, bool), [])
    assert pos and y == x and y < 6


def test_largest_region_equal_size_goes_to_negative():
    gt = np.zeros((10, 20), int)
    gt[1:4, 1:4] = 1                            # FN 9 px
    pred = np.zeros_like(gt, bool)
    pred[5:8, 10:13] = True                     # FP 9 px
    assert next_click_largest_region(gt, pred, []) == (6, 11, False)


def test_largest_region_tie_within_class_goes_to_first_in_row_major_order():
    gt = np.zeros((12, 12), int)
    gt[6:9, 0:3] = 1                            # lower-left, 9 px
    gt[1:4, 8:11] = 1                           # upper-right, 9 px, first in row-major order
    assert next_click_largest_region(gt, np.zeros_like(gt, bool), []) == (2, 9, True)


def test_largest_region_does_not_exclude_clicks_and_reports_no_error():
    gt = np.zeros((7, 7), int)
    gt[2:5, 2:5] = 1
    pred = np.zeros_like(gt, bool)
    first = next_click_largest_region(gt, pred, [])
    assert next_click_largest_region(gt, pred, [first]) == first
    assert next_click_largest_region(gt, gt == 1, []) == (-1, -1, False)


def test_largest_region_ignores_void_gt():
    gt = np.full((6, 6), -1, int)
    gt[0, 0] = 1
    pred = np.ones((6, 6), bool)                # all "FP" pixels are void
    assert next_click_largest_region(gt, pred, []) == (-1, -1, False)


# --------------------------------------------------------------------------- matting robot
def test_matting_first_click_is_positive_in_highest_error_opaque_region():
    gt = np.zeros((20, 30), np.uint8)
    gt[2:6, 2:6] = 255                          # 16 px opaque
    gt[10:18, 12:28] = 255                      # 128 px opaque: larger error sum
    gt[0:2, 20:30] = 128                        # semi-transparent: never clicked
    y, x, pos = next_click_matting(gt, np.zeros_like(gt), [])
    assert pos and 10 <= y < 18 and 12 <= x < 28


def test_matting_region_score_is_squared_error_not_area():
    gt = np.zeros((20, 40), np.uint8)
    gt[:, 20:] = 255
    pred = gt.copy()
    pred[2:12, 22:32] = 235                     # 100 px, error 20 each: 40 000
    pred[14:17, 2:5] = 255                      # 9 px bg error of 255: 585 225
    assert next_click_matting(gt, pred, []) == (15, 3, False)


def test_matting_score_tie_goes_to_background_and_no_error():
    gt = np.zeros((10, 20), np.uint8)
    gt[:, 10:] = 255
    pred = gt.copy()
    pred[3:6, 12:15] = 155                      # fg region: 9 px * 100²
    pred[3:6, 3:6] = 100                        # bg region: 9 px * 100²
    assert next_click_matting(gt, pred, []) == (4, 4, False)
    assert next_click_matting(gt, gt.copy(), []) == (-1, -1, False)
    # the clicked pixel is not excluded
    assert next_click_matting(gt, pred, [(4, 4, False)]) == (4, 4, False)


def test_matting_robot_requires_uint8():
    with pytest.raises(TypeError):
        next_click_matting(np.zeros((3, 3)), np.zeros((3, 3), np.uint8), [])
