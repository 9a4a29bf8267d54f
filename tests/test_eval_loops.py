"""Per-sample protocol loops and aggregation, with oracle models whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from eval_scenes import BlobOracle

from training.evaluation.aggregate import aggregate_iseg
from training.evaluation.protocols import aggregate, run_sample
from training.evaluation.sample_loops import (
    IsegConfig,
    run_imatting_sample,
    run_iseg_sample,
    run_matting_sample,
)


def _two_blob_gt():
    gt = np.zeros((24, 32), np.int8)
    gt[2:10, 2:10] = 1
    gt[14:22, 20:28] = 1
    gt[0, :] = -1
    return gt


@pytest.mark.parametrize("robot", ["R", "L"])
def test_iseg_loop_counts_clicks_and_maps_no_error(robot):
    gt = _two_blob_gt()
    rec = run_iseg_sample(BlobOracle(gt), np.zeros(gt.shape + (3,), np.uint8), gt, IsegConfig(robot=robot, max_clicks=5))
    assert rec["ious"][:2] == [0.5, 1.0] and len(rec["ious"]) == 5
    assert rec["noc90"] == 2 and rec["noc85"] == 2
    assert rec["corrective"][:2] == [1.0, 1.0]
    no_error_click = [0, 0, False] if robot == "R" else [23, 31, False]
    assert rec["clicks"][2] == no_error_click
    assert np.isnan(rec["corrective"][2])
    early = run_iseg_sample(BlobOracle(gt), np.zeros(gt.shape + (3,), np.uint8), gt,
                            IsegConfig(robot=robot, max_clicks=5, target=0.9))
    assert len(early["ious"]) == 2


class MattingOracle:
    def __init__(self, alpha):
        self.alpha = alpha

    def predict_matting(self, image, trimap):
        return self.alpha.astype(np.float64) / 255.0

    def predict_imatting(self, image, clicks, prev_alpha):
        return self.alpha


def test_matting_and_imatting_loops_with_oracle():
    alpha = np.zeros((16, 16), np.uint8)
    alpha[4:12, 4:12] = 255
    alpha[4:12, 3] = 100
    tri = np.full_like(alpha, 128)
    image = np.zeros((16, 16, 3), np.uint8)
    rec = run_matting_sample(MattingOracle(alpha), image, alpha, tri)
    assert rec["sad"] == rec["mse"] == rec["grad"] == rec["conn"] == 0.0
    rec = run_imatting_sample(MattingOracle(alpha), image, alpha, max_clicks=3)
    assert rec["clicks"][0][2] is True and rec["clicks"][1] == [15, 15, False]
    assert all(v == [0.0, 0.0, 0.0] for v in rec["per_click"].values())


def test_matting_loop_masks_by_trimap_before_metrics():
    alpha = np.zeros((10, 10), np.uint8)
    alpha[:, 5:] = 255
    tri = np.where(alpha > 0, 255, 0).astype(np.uint8)
    tri[:, 4:6] = 128

    class Wrong:
        def predict_matting(self, image, trimap):
            return np.full(trimap.shape, 0.5)

    rec = run_matting_sample(Wrong(), np.zeros((10, 10, 3), np.uint8), alpha, tri)
    assert rec["sad"] == pytest.approx(20 * (128 / 255) / 1000, rel=1e-6) or rec["sad"] == pytest.approx(
        (10 * 128 + 10 * 127) / 255 / 1000)


def test_protocol_thresholds():
    prob = np.array([0.49, 0.4901, 0.4999, 0.5])
    np.testing.assert_array_equal(IsegConfig(robot="R").binarize(prob), [False, True, True, True])
    np.testing.assert_array_equal(IsegConfig(robot="L").binarize(prob), [False, False, False, True])
    with pytest.raises(ValueError, match="robot"):
        IsegConfig(robot="X")


def test_run_sample_reads_benchmark_fields_and_names_missing_ones():
    gt = _two_blob_gt()
    mask, ignore = (gt == 1).astype(np.uint8), (gt == -1).astype(np.uint8)
    image = np.zeros(gt.shape + (3,), np.uint8)
    config = IsegConfig(robot="R", max_clicks=3)
    via_sample = run_sample("iseg", BlobOracle(gt), {"image": image, "mask": mask, "ignore": ignore}, config=config)
    direct = run_iseg_sample(BlobOracle(gt), image, gt, config)
    assert via_sample["ious"] == direct["ious"] and via_sample["clicks"] == direct["clicks"]
    with pytest.raises(ValueError, match="no mask"):
        run_sample("iseg", BlobOracle(gt), {"image": image, "alpha": mask}, config=config)
    with pytest.raises(ValueError, match="alpha and trimap"):
        run_sample("matting", MattingOracle(mask), {"image": image, "alpha": mask})
    with pytest.raises(ValueError, match="unknown protocol"):
        run_sample("segment", BlobOracle(gt), {"image": image})


def test_aggregate_iseg_by_hand():
    """Two images over 2 clicks: [0.5, 1.0] reaches 90 % at click 2, [0.95, 0.95] at click 1; a
    failed sample is counted, not scored."""
    records = [{"ious": [0.5, 1.0], "corrective": [1.0, 1.0], "model_seconds": 1.0},
               {"ious": [0.95, 0.95], "corrective": [float("nan"), 0.0], "model_seconds": 3.0},
               {"id": "bad", "error": "ValueError: x"}]
    agg = aggregate_iseg(records, IsegConfig(max_clicks=2))
    assert agg["n_images"] == 2 and agg["n_failed"] == 1
    assert agg["noc90"] == 1.5 and agg["noc80"] == 1.5 and agg["failures90"] == 0
    assert agg["miou_per_click"] == pytest.approx([0.725, 0.975]) and agg["auc"] == pytest.approx(0.85)
    assert agg["corrective_per_click"] == pytest.approx([1.0, 0.5])
    assert agg["model_seconds_per_click"] == 1.0
    with pytest.raises(ValueError, match="IsegConfig"):
        aggregate("iseg", records)
    assert aggregate("matting", [{"sad": 1.0, "mse": 0.5, "grad": 2.0, "conn": 3.0},
                                 {"sad": 3.0, "mse": 0.5, "grad": 0.0, "conn": 1.0}])["sad"] == 2.0
