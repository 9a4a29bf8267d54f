"""NoC, per-click curves, shares and corrective-click accuracy (spec §B.4-§B.5)."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation import auc, corrective_accuracy, miou_per_click, noc, share_above
from training.evaluation.noc import chosen_region, failures, noc_at_max, noc_per_image, share_table


def test_noc_threshold_inclusive_and_failures_count_as_max():
    assert noc_per_image([0.5, 0.9, 0.95], 0.90) == 2          # exactly reached counts
    assert noc_per_image([0.5] * 20, 0.90) == 20
    assert noc_per_image([0.5] * 19 + [0.91], 0.90) == 20      # reached at 20 also gives 20
    assert noc_per_image([float("nan"), 0.95], 0.90) == 2
    ious = [[0.5] * 19 + [0.91], [0.5] * 20, [0.95]]
    assert noc(ious, 0.90) == pytest.approx((20 + 20 + 1) / 3)
    assert noc_at_max(ious, 0.90) == 2                         # RITM's ">=20"
    assert failures(ious, 0.90) == 1                           # true failures


def test_noc_same_for_early_stopped_and_full_runs():
    full = [[0.3, 0.86, 0.92, 0.97] + [0.97] * 16, [0.1] * 20]
    early = [[0.3, 0.86, 0.92], [0.1] * 20]
    for thr in (0.80, 0.85, 0.90):
        assert noc(full, thr) == noc(early, thr)


def test_miou_auc_and_refusal_of_ragged_lists():
    ious = [[0.2, 0.6, 1.0], [0.4, 0.8, 0.9]]
    np.testing.assert_allclose(miou_per_click(ious), [0.3, 0.7, 0.95])
    assert auc(ious) == pytest.approx(np.mean([np.mean(i) for i in ious]))   # = mean of per-image means
    with pytest.raises(ValueError, match="full runs"):
        miou_per_click([[0.2, 0.5], [0.3]])


def test_share_above_is_strict():
    ious = [[0.95] * 20, [0.951] * 20, [0.99] * 20, [0.5] * 20]
    assert share_above(ious, 95, 20) == pytest.approx(0.5)
    assert share_above(ious, 99, 20) == 0.0
    table = share_table(ious)
    assert set(table) == {"1", "5", "10", "20"} and set(table["20"]) == {str(x) for x in range(90, 100)}
    assert set(share_table([[0.9] * 5])) == {"1", "5"}


def test_corrective_accuracy_on_chosen_region():
    gt = np.zeros((10, 10), int)
    gt[2:6, 2:6] = 1                           # 16 px object, missed
    gt[0, 9] = -1
    prev = np.zeros_like(gt, bool)
    region = chosen_region(gt, prev, (3, 3, True))
    assert region.sum() == 16
    pred = prev.copy()
    pred[2:6, 2:4] = True                       # half of the region fixed
    pred[8:10, 8:10] = True                     # new errors elsewhere do not count
    assert corrective_accuracy(gt, region, pred) == 0.5
    pred[2:6, 2:6] = True
    assert corrective_accuracy(gt, region, pred) == 1.0
    # a click that is not on an error pixel (no error left) has no region
    assert np.isnan(corrective_accuracy(gt, chosen_region(gt, gt == 1, (0, 0, False)), pred))
    assert chosen_region(gt, prev, (-1, -1, False)).sum() == 0
