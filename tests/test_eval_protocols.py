"""Protocol loops, benchmark runner, reports and the `training evaluate` CLI, on tiny datasets
built here with write_dataset; baselines on synthetic scenes with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from datagen.shards import write_dataset
from training.cli import app
from training.evaluation.baselines import GrabCutSeg, PymattingTrimap, RandomWalkerSeg, ScribbleClosedForm
from training.evaluation.metrics import iou
from training.evaluation.protocols import IsegConfig, run_imatting_sample, run_iseg_sample, run_matting_sample


class BlobOracle:
    """Reveals the ground-truth object parts (8-connected) touched by a positive click: NoC = number of parts."""

    def __init__(self, gt):
        self.labels, _ = ndimage.label(gt == 1, structure=np.ones((3, 3)))

    def predict_iseg(self, image, clicks, prev_mask):
        keep = {self.labels[y, x] for y, x, pos in clicks if pos} - {0}
        return np.isin(self.labels, list(keep)).astype(np.float32)


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


# --------------------------------------------------------------------------- baselines
def _scene(h=48, w=64, soft=4):
    """Two flat colours; the object is a centred box with ``soft``-pixel ramp edges, off the image border."""
    def ramp(n):
        d = np.minimum(np.arange(n) - n // 4, 3 * n // 4 - np.arange(n))
        return np.clip(d / soft + 0.5, 0, 1)
    alpha = np.minimum(ramp(h)[:, None], ramp(w)[None, :])
    fg, bg = np.array([0.9, 0.2, 0.1]), np.array([0.1, 0.3, 0.8])
    image = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    return (image * 255).round().astype(np.uint8), alpha


@pytest.mark.parametrize("model", [RandomWalkerSeg(), GrabCutSeg()])
def test_interactive_baselines_segment_flat_scene(model):
    image, alpha = _scene(96, 128, soft=1)
    gt = (alpha > 0.5).astype(np.int8)
    prob = model.predict_iseg(image, [(48, 60, True)], np.zeros(gt.shape, np.float32))
    assert prob.shape == gt.shape and iou(gt, prob > 0.49) > 0.9
    again = model.predict_iseg(image, [(48, 60, True)], np.zeros(gt.shape, np.float32))
    np.testing.assert_array_equal(prob, again)                      # deterministic


@pytest.mark.parametrize("method", ["closed_form", "knn"])
def test_trimap_baselines_recover_known_alpha(method):
    image, alpha = _scene()
    tri = np.where(alpha >= 1, 255, np.where(alpha <= 0, 0, 128)).astype(np.uint8)
    tri[ndimage.binary_dilation(tri == 128, iterations=3)] = 128
    pred = PymattingTrimap(method).predict_matting(image, tri)
    err = np.abs(pred - alpha)[tri == 128].mean()
    assert err < 0.05


def test_scribble_trimap_and_interactive_matting_baseline():
    model = ScribbleClosedForm(max_side=64, radius=2)
    trimap = model.scribble_trimap((20, 20), [(10, 10, True)], 1.0)
    assert trimap[10, 10] == 255 and trimap[0, 5] == 0 and trimap[5, 5] == 128
    trimap = model.scribble_trimap((20, 20), [(10, 10, True), (3, 3, False)], 1.0)
    assert trimap[0, 10] == 0 and trimap[3, 3] == 0 and trimap[10, 10] == 255
    image, alpha = _scene()
    pred = model.predict_imatting(image, [(24, 32, True), (3, 3, False)], np.zeros(alpha.shape))
    assert np.abs(pred - alpha).mean() < 0.1


# --------------------------------------------------------------------------- benchmark runs and CLI
def _iseg_sample(i):
    image, alpha = _scene(64, 80, soft=1)
    if i == 2:
        return {"id": "only-alpha", "image": image, "alpha": (alpha * 255).astype(np.uint8)}
    mask = (alpha > 0.5).astype(np.uint8)
    ignore = np.zeros_like(mask)
    ignore[31:33, :] = 1
    return {"id": f"s{i}", "image": image, "mask": mask, "ignore": ignore}


def _matting_sample(i):
    image, alpha = _scene(32, 40)
    a8 = (alpha * 255).round().astype(np.uint8)
    tri = np.where(a8 == 255, 255, np.where(a8 == 0, 0, 128)).astype(np.uint8)
    return {"id": f"m{i}", "image": image, "alpha": a8, "trimap": tri}


@pytest.fixture(scope="module")
def benchmarks(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    write_dataset(root / "iseg", "benchmark", [0, 1, 2], _iseg_sample, progress=False)
    write_dataset(root / "mat", "benchmark", [0, 1], _matting_sample, progress=False)
    return root


def test_cli_iseg_writes_report_and_reports_bad_sample(benchmarks, tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["evaluate", "iseg", "--benchmark", str(benchmarks / "iseg"), "--model",
                                      "baseline:random_walker", "--out", str(out), "--clicks", "3",
                                      "--robot", "L", "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "only-alpha" in result.output and "no mask" in result.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["protocol"] == "iseg" and doc["settings"]["robot"] == "L"
    assert doc["settings"]["threshold_rule"] == "prob >= 0.5" and doc["versions"]["numpy"]
    agg = doc["aggregate"]
    assert agg["n_images"] == 2 and agg["n_failed"] == 1 and len(agg["miou_per_click"]) == 3
    assert agg["noc90"] == 1.0 and agg["auc"] > 0.9
    assert [s["id"] for s in doc["samples"]] == ["s0", "s1", "only-alpha"]
    assert (out / "miou_per_click.png").stat().st_size > 0
    assert "NoC@90" in (out / "table.md").read_text()


def test_cli_matting_and_imatting(benchmarks, tmp_path):
    runner = CliRunner()
    out = tmp_path / "m"
    result = runner.invoke(app, ["evaluate", "matting", "--benchmark", str(benchmarks / "mat"), "--model",
                                 "baseline:closed_form", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    agg = json.loads((out / "results.json").read_text())["aggregate"]
    assert agg["n_images"] == 2 and agg["sad"] < 0.05
    out = tmp_path / "i"
    result = runner.invoke(app, ["evaluate", "imatting", "--benchmark", str(benchmarks / "mat"), "--model",
                                 "baseline:scribble_cf", "--out", str(out), "--clicks", "2", "--ids", "*1",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    agg = doc["aggregate"]
    assert [s["id"] for s in doc["samples"]] == ["m1"] and doc["settings"]["ids"] == "*1"
    assert len(agg["per_click"]["sad"]) == 2 and (out / "metrics_per_click.png").exists()


def test_cli_rejects_bad_model_and_benchmark(benchmarks, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "matting", "--benchmark", str(benchmarks / "mat"), "--model",
                                 "baseline:grabcut", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "predict_matting" in result.output
    result = runner.invoke(app, ["evaluate", "iseg", "--benchmark", str(tmp_path / "nope"), "--model",
                                 "baseline:grabcut", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "nope" in result.output


def _without_timing(records):
    """JSON text, so that NaN entries compare equal."""
    return json.dumps([{k: v for k, v in r.items() if k != "model_seconds"} for r in records])


def test_results_do_not_depend_on_worker_count(benchmarks):
    from training.evaluation.protocols import evaluate_benchmark

    config = IsegConfig(robot="R", max_clicks=2)
    runs = [evaluate_benchmark("iseg", str(benchmarks / "iseg"), GrabCutSeg(), config=config, workers=w,
                               progress=False) for w in (1, 2)]
    assert _without_timing(runs[0]) == _without_timing(runs[1])


def test_rewrite_report_reproduces_json(tmp_path):
    from training.evaluation.report import rewrite_report, write_report

    records = [{"id": "a", "ious": [0.5, 1.0], "corrective": [float("nan"), 1.0]}]
    aggregate = {"n_images": 1, "noc90": 2.0, "miou_per_click": [0.5, 1.0], "corrective_per_click": [None, 1.0]}
    write_report(tmp_path, protocol="iseg", benchmark="b", model="m", settings={"robot": "R"}, records=records,
                 aggregate=aggregate)
    first = (tmp_path / "results.json").read_text()
    assert json.loads(first)["samples"][0]["corrective"][0] is None          # NaN written as null
    rewrite_report(tmp_path)
    assert (tmp_path / "results.json").read_text() == first
    assert "robot R" in (tmp_path / "table.md").read_text()


def test_protocol_thresholds():
    prob = np.array([0.49, 0.4901, 0.4999, 0.5])
    np.testing.assert_array_equal(IsegConfig(robot="R").binarize(prob), [False, True, True, True])
    np.testing.assert_array_equal(IsegConfig(robot="L").binarize(prob), [False, False, False, True])
    with pytest.raises(ValueError, match="robot"):
        IsegConfig(robot="X")
