"""Matting metrics and IoU against the spec's worked values (metrics.md §A, §B.1) and an
independent brute-force connectivity reference."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from scipy import ndimage

from datagen.compose.convert import quantize_alpha
from training.evaluation import connectivity_error, gradient_error, iou, mse, sad
from training.evaluation.metrics import (
    connectivity_level_map,
    foreground_errors,
    gradient_kernel,
    gradient_magnitude,
    gt_from_mask_png,
    mask_by_trimap,
    whole_image_errors,
)


def _unknown(shape):
    return np.full(shape, 128, np.uint8)


# --------------------------------------------------------------------------- SAD / MSE
def test_sad_units_and_unknown_region_only():
    gt = np.zeros((40, 50), np.uint8)
    pred = np.full((40, 50), 255, np.uint8)
    tri = np.zeros((40, 50), np.uint8)
    tri[:20] = 128          # 1000 unknown pixels, each |Δα| = 1
    tri[20:30] = 127        # near-128 values are *known*: exact equality with 128
    tri[30:] = 129
    assert sad(pred, gt, tri) == pytest.approx(1.0)
    assert mse(pred, gt, tri) == pytest.approx(1.0)


def test_mse_divides_by_unknown_count_not_image_size():
    gt = np.zeros((10, 10), np.uint8)
    pred = gt.copy()
    pred[0, :4] = 51        # Δα = 0.2 on 4 pixels
    tri = np.zeros_like(gt)
    tri[0] = 128            # 10 unknown pixels
    assert mse(pred, gt, tri) == pytest.approx(4 * 0.04 / 10)
    assert sad(pred, gt, tri) == pytest.approx(4 * 0.2 / 1000)


def test_empty_unknown_region_gives_zero_not_nan():
    rng = np.random.default_rng(0)
    pred, gt = rng.integers(0, 256, (2, 16, 16), dtype=np.uint8)
    tri = np.full((16, 16), 255, np.uint8)
    for fn in (sad, mse, gradient_error, connectivity_error):
        assert fn(pred, gt, tri) == 0.0


def test_metrics_refuse_float_mattes():
    with pytest.raises(TypeError, match="quantise"):
        sad(np.zeros((4, 4)), np.zeros((4, 4), np.uint8), _unknown((4, 4)))


def test_quantize_rounds_to_nearest_and_clips():
    out = quantize_alpha(np.array([[-0.1, 0.0, 0.5 / 255, 0.7 / 255, 1.0, 1.2]]))
    assert out.dtype == np.uint8
    assert out[0, 0] == 0 and out[0, 1] == 0 and out[0, 3] == 1 and out[0, 4] == 255 and out[0, 5] == 255


def test_mask_by_trimap_is_explicit_and_metrics_do_not_mask():
    gt = np.zeros((20, 20), np.uint8)
    gt[:, 10:] = 255
    tri = np.zeros_like(gt)
    tri[:, 8:12] = 128
    tri[:, 12:] = 255
    pred = gt.copy()
    pred[:, 5:8] = 200       # error outside U only, within the 9x9 filter support
    masked = mask_by_trimap(pred, tri)
    assert (masked == gt).all()
    assert sad(pred, gt, tri) == 0.0 and mse(pred, gt, tri) == 0.0
    # the filter support sees outside U: unmasked input changes Grad
    assert gradient_error(pred, gt, tri) > 0.0
    assert gradient_error(masked, gt, tri) == 0.0 and connectivity_error(masked, gt, tri) == 0.0


# --------------------------------------------------------------------------- gradient
def test_gradient_kernel_sanity_values():
    hx = gradient_kernel()
    assert hx.shape == (9, 9)
    expected = [0.027487, 0.122946, 0.293474, 0.315434, 0, -0.315434, -0.293474, -0.122946, -0.027487]
    np.testing.assert_allclose(hx[4], expected, atol=1e-6)
    assert np.abs(hx).sum() == pytest.approx(5.32399, abs=1e-5)
    assert (hx ** 2).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(hx, -hx[::-1, ::-1])     # point-antisymmetric


def test_unit_step_peak_gradient():
    a = np.zeros((30, 30), np.uint8)
    a[:, 15:] = 255
    m = gradient_magnitude(a)
    assert m.max() == pytest.approx(2.661997, abs=1e-6)
    assert set(np.nonzero(np.isclose(m[10], m.max()))[0]) == {14, 15}


def test_separable_filter_equals_2d_convolution_and_correlation():
    rng = np.random.default_rng(1)
    a = ndimage.gaussian_filter(rng.random((37, 53)), 2)
    hx = gradient_kernel()
    a01 = (a - a.min()) / (a.max() - a.min())
    for op in (ndimage.convolve, ndimage.correlate):
        ref = np.hypot(op(a01, hx, mode="nearest"), op(a01, hx.T, mode="nearest"))
        np.testing.assert_allclose(gradient_magnitude(a01 * 255), ref, atol=1e-12)


def test_gradient_uses_per_image_minmax_normalisation():
    gt = np.zeros((24, 24), np.uint8)
    gt[:, 12:] = 255
    low = np.where(gt > 0, 200, 50).astype(np.uint8)     # same shape, never reaches 0 or 255
    tri = _unknown(gt.shape)
    assert gradient_error(low, gt, tri) == pytest.approx(0.0, abs=1e-12)
    assert sad(low, gt, tri) > 0
    const = np.full_like(gt, 77)                           # constant -> all-zero, zero gradient
    assert gradient_magnitude(const).max() == 0.0
    expected = (gradient_magnitude(gt) ** 2).sum() / 1000
    assert gradient_error(const, gt, tri) == pytest.approx(expected)


# --------------------------------------------------------------------------- connectivity
def _reference_level_map(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Brute force: BFS labelling in column-major scan order, first maximum wins."""
    h, w = pred.shape
    level = np.full((h, w), -1.0)
    for i in range(1, 11):
        b = (pred.astype(int) * 10 >= 255 * i) & (gt.astype(int) * 10 >= 255 * i)
        seen = np.zeros_like(b)
        best: list = []
        for x in range(w):
            for y in range(h):
                if b[y, x] and not seen[y, x]:
                    comp, queue = [], deque([(y, x)])
                    seen[y, x] = True
                    while queue:
                        cy, cx = queue.popleft()
                        comp.append((cy, cx))
                        for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                            if 0 <= ny < h and 0 <= nx < w and b[ny, nx] and not seen[ny, nx]:
                                seen[ny, nx] = True
                                queue.append((ny, nx))
                    if len(comp) > len(best):
                        best = comp
        omega = np.zeros_like(b)
        for p in best:
            omega[p] = True
        for y in range(h):
            for x in range(w):
                if level[y, x] < 0 and not omega[y, x]:
                    level[y, x] = (i - 1) / 10
    level[level < 0] = 1.0
    return level


def _reference_conn(pred, gt, tri):
    level = _reference_level_map(pred, gt)
    total = 0.0
    for y, x in zip(*np.nonzero(tri == 128)):
        dp, dg = pred[y, x] / 255 - level[y, x], gt[y, x] / 255 - level[y, x]
        fp = 1 - dp if dp >= 0.15 else 1.0
        fg = 1 - dg if dg >= 0.15 else 1.0
        total += abs(fp - fg)
    return total / 1000


@pytest.mark.parametrize("seed", range(6))
def test_connectivity_matches_bruteforce_reference(seed):
    rng = np.random.default_rng(seed)
    shape = (14, 17)
    # blocky random mattes: many components, equal-size ties and the value 153 (= 0.6 exactly)
    values = np.array([0, 26, 51, 76, 102, 127, 153, 178, 204, 229, 255], np.uint8)
    gt = np.kron(rng.choice(values, (7, 9)), np.ones((2, 2), np.uint8))[: shape[0], : shape[1]]
    pred = np.clip(gt.astype(int) + rng.choice([-26, 0, 0, 26], shape), 0, 255).astype(np.uint8)
    tri = np.where(rng.random(shape) < 0.7, 128, 0).astype(np.uint8)
    np.testing.assert_allclose(connectivity_level_map(pred, gt), _reference_level_map(pred, gt))
    assert connectivity_error(pred, gt, tri) == pytest.approx(_reference_conn(pred, gt, tri), abs=1e-12)


def test_connectivity_exact_threshold_for_153():
    a = np.full((5, 5), 153, np.uint8)           # 153/255 = 0.6 exactly: passes level 6
    np.testing.assert_allclose(connectivity_level_map(a, a), 0.6)
    b = np.full((5, 5), 152, np.uint8)
    np.testing.assert_allclose(connectivity_level_map(b, b), 0.5)


def test_connectivity_all_zero_gt_guarded_empty_levels():
    gt = np.zeros((25, 40), np.uint8)
    pred = gt.copy()
    pred.flat[:375] = 255                        # φ_pred = 0 there, φ_gt = 1 everywhere
    tri = _unknown(gt.shape)
    assert connectivity_error(pred, gt, tri) == pytest.approx(0.375)


def test_connectivity_all_one_and_identical_mattes():
    one = np.full((10, 10), 255, np.uint8)
    zero = np.zeros((10, 10), np.uint8)
    tri = _unknown(one.shape)
    assert connectivity_error(one, one, tri) == 0.0
    assert connectivity_error(zero, zero, tri) == 0.0
    np.testing.assert_allclose(connectivity_level_map(one, one), 1.0)
    # pred all one, gt all zero: every level empty, l = 0, φ_pred = 0, φ_gt = 1
    assert connectivity_error(one, zero, tri) == pytest.approx(100 / 1000)


def test_connectivity_semi_transparent_never_opaque():
    gt = np.full((6, 6), 128, np.uint8)          # never reaches level 6: guarded empty Ω
    pred = np.full((6, 6), 255, np.uint8)
    np.testing.assert_allclose(connectivity_level_map(pred, gt), 0.5)
    assert connectivity_error(pred, gt, _unknown(gt.shape)) == pytest.approx(36 * 0.5 / 1000)


def test_connectivity_tie_goes_to_first_component_in_column_major_order():
    a = np.zeros((8, 8), np.uint8)
    a[0:2, 5:8] = 255        # first in row-major order (top-right), 6 px
    a[5:7, 0:3] = 255        # first in column-major order (bottom-left), 6 px
    level = connectivity_level_map(a, a)
    assert (level[5:7, 0:3] == 1.0).all()
    assert (level[0:2, 5:8] == 0.0).all()


def test_connectivity_uses_4_connectivity():
    a = np.zeros((6, 6), np.uint8)
    a[1, 1] = a[2, 2] = a[3, 3] = 255            # diagonal chain: three 1-px components
    a[5, 0:2] = 255                              # a 2-px component wins
    level = connectivity_level_map(a, a)
    assert level[5, 0] == 1.0 and level[2, 2] == 0.0


# --------------------------------------------------------------------------- whole image, foreground
def test_whole_image_variant_equals_all_unknown_trimap():
    rng = np.random.default_rng(3)
    pred, gt = rng.integers(0, 256, (2, 20, 30), dtype=np.uint8)
    whole = whole_image_errors(pred, gt)
    tri = _unknown(gt.shape)
    assert whole == {"sad": sad(pred, gt, tri), "mse": mse(pred, gt, tri),
                     "grad": gradient_error(pred, gt, tri), "conn": connectivity_error(pred, gt, tri)}


def test_foreground_metrics_use_predicted_alpha_on_prediction_side():
    shape = (10, 10)
    tri = _unknown(shape)
    alpha = np.full(shape, 255, np.uint8)
    fg = np.zeros(shape + (3,), np.float64)
    pred_fg = fg.copy()
    pred_fg[..., 0] = 0.1                        # colour error on one channel
    out = foreground_errors(alpha, pred_fg, alpha, fg, tri)
    assert out["fgc_sad"] == pytest.approx(100 * 0.1 / 1000)
    assert out["fgc_mse"] == pytest.approx(100 * 0.01 / 300)
    # a zero predicted alpha hides any colour: error is the whole ground-truth αF
    gt_fg = np.full(shape + (3,), 255, np.uint8)
    out = foreground_errors(np.zeros(shape, np.uint8), gt_fg, alpha, gt_fg, tri)
    assert out["fgc_sad"] == pytest.approx(300 / 1000)
    assert foreground_errors(alpha, pred_fg, alpha, fg, np.zeros(shape, np.uint8))["fgc_mse"] == 0.0


# --------------------------------------------------------------------------- IoU
def test_iou_excludes_ignore_band():
    gt = np.array([[1, 1, -1, 0], [1, 0, -1, 0]])
    pred = np.array([[1, 0, 1, 1], [1, 0, 1, 0]], bool)
    # inter = 2 ((0,0), (1,0)); union = {(0,0),(0,1),(1,0),(0,3)} = 4; ignore column excluded
    assert iou(gt, pred) == pytest.approx(0.5)


def test_iou_empty_union_is_nan_and_threshold_exactly_reached():
    assert np.isnan(iou(np.zeros((3, 3), int), np.zeros((3, 3), bool)))
    gt = np.zeros((1, 10), int)
    gt[0, :10] = 1
    pred = gt.astype(bool).copy()
    pred[0, 9] = False
    assert iou(gt, pred) == 0.9 and iou(gt, pred) >= 0.90


def test_mask_png_mapping():
    np.testing.assert_array_equal(gt_from_mask_png(np.array([0, 1, 127, 128, 129, 255])), [0, 0, 0, -1, 1, 1])
