"""The protocols end to end: baselines on synthetic scenes with known answers, then the
`training evaluate` CLI and its reports on tiny benchmarks built here with write_dataset.
(Per-sample loops: test_eval_loops.py; fan-out over workers: test_eval_fanout.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.shards.build import write_dataset
from training.cli import app
from training.evaluation.baselines import GrabCutSeg, PymattingTrimap, RandomWalkerSeg, ScribbleClosedForm
from training.evaluation.metrics import iou


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
    write_dataset(root / "iseg", "benchmark", [0, 1, 2], _iseg_sample, execution=Execution(progress=False))
    write_dataset(root / "mat", "benchmark", [0, 1], _matting_sample, execution=Execution(progress=False))
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
    result = runner.invoke(app, ["evaluate", "matting", "--benchmark", str(benchmarks / "mat"), "--model",
                                 "baseline:closed_form", "--out", str(tmp_path / "x"), "--ids", "zz*"])
    assert result.exit_code == 2 and "none with an id matching 'zz*'" in result.output
    result = runner.invoke(app, ["evaluate", "matting", "--benchmark", str(benchmarks / "mat"), "--model",
                                 str(tmp_path / "net.pt"), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "net.pt not found" in result.output
    assert not (tmp_path / "x").exists()                             # no report for a run that never started


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

