"""The issue-29/30/31 wiring of `training evaluate`: NoC@95, failures, seconds per click, boundary
IoU per click, zoom-in, mask correction and MAD in the loops, aggregates and reports; benchmarks a
protocol cannot use refused up front; a killed run resumed from its finished samples; matting plots."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import pytest
from eval_scenes import BlobOracle, box_sample
from scipy import ndimage
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.shards import DatasetError
from datagen.shards.build import write_dataset
from training.cli import app
from training.evaluation.aggregate import aggregate_iseg, aggregate_matting
from training.evaluation.fanout import evaluate_benchmark
from training.evaluation.protocols import benchmark_mismatch
from training.evaluation.sample_loops import IsegConfig, run_iseg_sample, run_matting_sample
from training.evaluation.tables import iseg_table, matting_table
from training.evaluation.zoom_in import ZoomInSettings

QUIET = Execution(progress=False)


def _two_blobs():
    gt = np.zeros((24, 32), np.int8)
    gt[2:10, 2:10] = 1
    gt[14:22, 20:28] = 1
    return gt


# --------------------------------------------------------------------------- loops and aggregates
def test_iseg_loop_records_boundary_iou_and_noc95():
    gt = _two_blobs()
    rec = run_iseg_sample(BlobOracle(gt), np.zeros((24, 32, 3), np.uint8), gt, IsegConfig(max_clicks=3))
    # width round(0.02 * 40) = 1: each 8x8 blob has a 28-pixel inner boundary; one blob found -> 28 / 56
    assert rec["boundary_ious"] == [0.5, 1.0, 1.0]
    assert rec["ious"] == [0.5, 1.0, 1.0] and rec["noc95"] == 2


def test_aggregate_noc95_failures_spc_and_boundary_curve_by_hand():
    records = [
        {"ious": [0.96, 0.97, 0.98], "boundary_ious": [0.5, 0.6, 0.7], "corrective": [1.0, 1.0, 1.0], "model_seconds": 3.0},
        {"ious": [0.5, 0.9, 0.95], "boundary_ious": [0.1, float("nan"), 0.3], "corrective": [1.0, 1.0, 1.0],
         "model_seconds": 6.0},
        {"ious": [0.5, 0.6, 0.94], "boundary_ious": [0.3, 0.2, 0.5], "corrective": [1.0, 1.0, 1.0], "model_seconds": 3.0},
        {"id": "bad", "error": "ValueError: x"},
    ]
    agg = aggregate_iseg(records, IsegConfig(max_clicks=3))
    assert agg["noc95"] == pytest.approx((1 + 3 + 3) / 3)
    assert agg["noc20_images95"] == 2 and agg["failures95"] == 1 and agg["failures90"] == 0
    assert agg["seconds_per_click"] == pytest.approx(12 / 9)
    assert agg["seconds_per_click_per_sample"] == pytest.approx([1.0, 2.0, 1.0])
    assert agg["boundary_iou_per_click"] == pytest.approx([0.3, 0.4, 0.5])      # NaN left out of click 2
    table = iseg_table("t", agg)
    assert "NoC@95" in table and "fail@95" in table and "BIoU@20" in table and "| 2.33 |" in table
    assert "| 1.333 |" in table                                                   # SPC column


def test_mask_correction_starts_from_the_initial_mask():
    gt = _two_blobs()
    model = BlobOracle(gt)
    initial = gt == 1
    initial[14:22, 20:28] = False                 # the second blob is missing
    rec = run_iseg_sample(model, np.zeros((24, 32, 3), np.uint8), gt, IsegConfig(max_clicks=2), initial)
    assert rec["initial_iou"] == 0.5
    shape, prev, clicks = model.calls[0]
    np.testing.assert_array_equal(prev, initial.astype(np.float32))   # the model sees it as its previous mask
    y, x, positive = clicks[0]
    assert positive and 14 <= y < 22 and 20 <= x < 28                 # the robot clicks on its error


def test_zoom_in_loop_predicts_on_a_crop_around_a_small_object():
    gt = np.zeros((300, 500), np.int8)
    gt[140:160, 240:270] = 1
    model = BlobOracle(gt)

    class Resized(BlobOracle):
        """Answers on whatever image it gets: the crop's own blob, found again by colour."""

        def predict_iseg(self, image, clicks, prev_mask):
            model.calls.append((image.shape, np.array(prev_mask), list(clicks)))
            obj = image[..., 0] > 127
            labels, _ = ndimage.label(obj)
            keep = {labels[y, x] for y, x, pos in clicks if pos} - {0}
            return np.isin(labels, list(keep)).astype(np.float32)

    image = np.zeros((300, 500, 3), np.uint8)
    image[gt == 1] = 255
    config = IsegConfig(max_clicks=2, zoom_in=ZoomInSettings())
    rec = run_iseg_sample(Resized(gt), image, gt, config)
    assert model.calls[0][0] == (300, 500, 3)                 # click 1: the whole image
    # click 2: the object box grows to the 200 px minimum: a 201 x 201 box resized to 400 x 400
    assert model.calls[1][0] == (400, 400, 3)
    assert rec["ious"][0] == 1.0 and rec["ious"][1] > 0.9


def test_matting_record_has_mad_unknown_size_and_plots(tmp_path):
    alpha = np.zeros((6, 6), np.float32)
    alpha[2:4, 2:4] = 0.5
    trimap = np.zeros((6, 6), np.uint8)
    trimap[2:4, 2:4] = 128

    class Zero:
        def predict_matting(self, image, trimap):
            return np.zeros(trimap.shape, np.float32)

    rec = run_matting_sample(Zero(), np.zeros((6, 6, 3), np.uint8), alpha, trimap)
    assert rec["mad"] == pytest.approx(128 / 255) and rec["unknown_pixels"] == 4   # 0.5 quantises to 128
    agg = aggregate_matting([{"id": "a", **rec}, {"id": "b", **rec}])
    assert agg["mad"] == pytest.approx(128 / 255) and [s["id"] for s in agg["per_sample"]] == ["a", "b"]
    assert "| MAD×10³ |" in matting_table("t", agg) and "501.96" in matting_table("t", agg)


# --------------------------------------------------------------------------- protocol / benchmark mismatch
def test_benchmark_mismatch_names_the_protocols_that_fit():
    seg = ["image", "mask", "ignore", "recipe"]
    assert benchmark_mismatch("iseg", seg) is None
    assert "use `training evaluate iseg`" in benchmark_mismatch("matting", seg)
    assert "use `training evaluate iseg`" in benchmark_mismatch("imatting", seg)
    alpha_only = ["image", "alpha"]
    assert "no mask field; use `training evaluate imatting`" in benchmark_mismatch("iseg", alpha_only)
    free = benchmark_mismatch("matting", alpha_only, trimap_free=True)
    assert "trimap-free" in free and "evaluate imatting" in free
    assert benchmark_mismatch("matting", ["image", "alpha", "trimap"]) is None


# --------------------------------------------------------------------------- benchmarks and the CLI
@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("wiring")
    write_dataset(root / "seg", "benchmark", list(range(4)), box_sample, execution=QUIET)
    return root / "seg"


PREDICTED: list[str] = []
INTERRUPT = "EVAL_TEST_INTERRUPT_AT"


@dataclass(frozen=True)
class SquareSeg:
    """A 9x9 square per positive click; records each image it predicts (by its mean colour) and
    stops the run like a kill (KeyboardInterrupt is not a per-sample failure) at the sample whose
    index the environment names."""

    def predict_iseg(self, image, clicks, prev_mask):
        key = int(image.sum())
        if len(clicks) == 1:
            PREDICTED.append(key)
            if os.environ.get(INTERRUPT) and len(PREDICTED) == int(os.environ[INTERRUPT]) + 1:
                raise KeyboardInterrupt
        prob = np.zeros(image.shape[:2], np.float32)
        for y, x, positive in clicks:
            prob[max(0, y - 4):y + 5, max(0, x - 4):x + 5] = float(positive)
        return prob


def square_factory() -> SquareSeg:
    return SquareSeg()


SPEC = f"{__name__}:square_factory"


def _no_timing(records):
    return json.dumps([{k: v for k, v in r.items() if k != "model_seconds"} for r in records])


def test_an_interrupted_run_resumes_from_its_finished_samples(bench, tmp_path, monkeypatch):
    config = IsegConfig(max_clicks=3)
    whole = evaluate_benchmark("iseg", str(bench), SPEC, config=config, execution=QUIET)
    PREDICTED.clear()
    monkeypatch.setenv(INTERRUPT, "2")
    with pytest.raises(KeyboardInterrupt):
        evaluate_benchmark("iseg", str(bench), SPEC, config=config, execution=QUIET, records=tmp_path)
    assert len(PREDICTED) == 3                                   # samples 0 and 1 finished, 2 was cut
    monkeypatch.delenv(INTERRUPT)
    PREDICTED.clear()
    resumed = evaluate_benchmark("iseg", str(bench), SPEC, config=config, execution=QUIET, records=tmp_path)
    assert resumed.resumed == 2 and len(PREDICTED) == 2          # only samples 2 and 3 ran again
    assert _no_timing(resumed.records) == _no_timing(whole.records)
    assert resumed.model_params == whole.model_params
    PREDICTED.clear()
    other = evaluate_benchmark("iseg", str(bench), SPEC, config=IsegConfig(max_clicks=2), execution=QUIET,
                               records=tmp_path)
    assert other.resumed == 0 and len(PREDICTED) == 4            # other settings: nothing reused


def test_cli_new_options_settings_and_report(bench, tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(app, ["evaluate", "iseg", "--help"], env={"COLUMNS": "300"}).output
    for option in ("--zoom-in", "--zoom-target-size", "--initial-masks", "--seed"):
        assert option in help_text
    out = tmp_path / "r"
    result = runner.invoke(app, ["evaluate", "iseg", "--benchmark", str(bench), "--model", "baseline:grabcut",
                                 "--out", str(out), "--clicks", "2", "--zoom-in", "--zoom-target-size", "64",
                                 "--initial-masks", "corrupted", "--seed", "3", "--no-progress"])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    settings = doc["settings"]
    assert settings["zoom_in"]["target_size"] == 64 and settings["zoom_in"]["protocol"] == "RITM ZoomIn"
    assert settings["initial_masks"] == "corrupted" and settings["initial_mask_seed"] == 3
    assert settings["model_uses_previous_mask"] is False
    assert "ignored by the model" in (out / "table.md").read_text()
    assert all(0.0 <= s["initial_iou"] <= 1.0 for s in doc["samples"]) and "initial_iou" in doc["aggregate"]
    assert {"noc95", "failures95", "seconds_per_click", "boundary_iou_per_click"} <= set(doc["aggregate"])
    assert (out / "boundary_iou_per_click.png").stat().st_size > 0
    assert not (out / ".records").exists()                       # kept only while the run lasts


def test_cli_refuses_mismatch_unwritable_out_and_missing_mask_folder(bench, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "matting", "--benchmark", str(bench), "--model", "baseline:closed_form",
                                 "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "use `training evaluate iseg`" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "m").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(app, ["evaluate", "iseg", "--benchmark", str(bench), "--model", "baseline:grabcut",
                                 "--out", str(blocker / "r")])
    assert result.exit_code == 2 and "not writable" in result.output
    result = runner.invoke(app, ["evaluate", "iseg", "--benchmark", str(bench), "--model", "baseline:grabcut",
                                 "--out", str(tmp_path / "r"), "--initial-masks", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no such folder" in result.output


def test_cli_matting_writes_the_promised_plots(tmp_path):
    def sample(i):
        alpha = np.zeros((20, 24), np.uint8)
        alpha[5:15, 6:18] = 255
        alpha[5:15, 6 + i] = 128
        trimap = np.where(ndimage.binary_dilation(alpha == 255, iterations=2) & ~ndimage.binary_erosion(
            alpha == 255, iterations=2), 128, alpha).astype(np.uint8)
        image = np.stack([alpha] * 3, axis=-1)
        return {"id": f"m{i}", "image": image, "alpha": alpha, "trimap": trimap}

    write_dataset(tmp_path / "mat", "benchmark", [0, 1], sample, execution=QUIET)
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["evaluate", "matting", "--benchmark", str(tmp_path / "mat"), "--model",
                                      "baseline:closed_form", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (out / "sad_per_sample.png").stat().st_size > 0 and (out / "sad_vs_unknown_pixels.png").stat().st_size > 0
    assert "MAD×10³" in (out / "table.md").read_text()


def test_trimap_free_set_is_refused_for_trimap_matting(tmp_path):
    def sample(i):
        return {"id": f"f{i}", "image": np.zeros((8, 8, 3), np.uint8), "alpha": np.zeros((8, 8), np.uint8)}

    write_dataset(tmp_path / "free", "benchmark", [0], sample, execution=QUIET,
                  provenance={"command": "test", "params": {"trimap_free": True}})
    with pytest.raises(DatasetError, match="trimap-free.*evaluate imatting"):
        evaluate_benchmark("matting", str(tmp_path / "free"), "baseline:closed_form", execution=QUIET)
